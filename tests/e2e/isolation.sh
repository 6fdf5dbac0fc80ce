# Isolation: the command's confinement (capabilities, no_new_privs, the seccomp filter) and the
# guest's network (none by default; --network user, -p), on the host's root and with --bare.
. "$(dirname "$0")/lib.sh"

# Lines of the command's /proc/self/status: "CapEff CapBnd NoNewPrivs Seccomp" values.
status_of() { "$@" -- sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | cut -f2 | tr "\n" " "'; }
full=000001ffffffffff  # every capability of execvm's kernel (6.12: CAP_LAST_CAP 40)

check_eq "--sudo has every power, unconfined" "$full $full 0 0 " "$(status_of "$EXECVM" --sudo)"
check_eq "--sudo --cap-drop ALL has none, confined" "0000000000000000 0000000000000000 1 2 " \
  "$(status_of "$EXECVM" --sudo --cap-drop ALL)"
check_eq "--sudo --cap-drop NET_RAW: docker's set without it" "00000000a80405fb 00000000a80405fb 1 2 " \
  "$(status_of "$EXECVM" --sudo --cap-drop NET_RAW)"
# The caller with --cap-add: confined, with none of them unless the caller is root.
if [ "$(id -u)" = 0 ]; then caller_caps=00000000a80435fb; else caller_caps=0000000000000000; fi
check_eq "the caller with --cap-add NET_ADMIN: confined" "$caller_caps 00000000a80435fb 1 2 " \
  "$(status_of "$EXECVM" --cap-add NET_ADMIN)"
check_eq "--privileged --sudo" "$full $full 0 0 " "$(status_of "$EXECVM" --sudo --privileged)"

# System calls, by errno name, through the C library as a program makes them.
calls='
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def show(name, rc):
    print(name, "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()])
show("reboot", libc.reboot(0x01234567))  # RB_AUTOBOOT: it would end the VM
show("mount", libc.mount(b"none", b"/mnt", b"tmpfs", 0, None))
show("swapon", libc.swapon(b"/nonexistent", 0))
show("unshare", libc.unshare(0x00020000))  # CLONE_NEWNS
'
check_eq "confined root (S1): reboot, mount, swapon and unshare refused" \
  "reboot EPERM mount EPERM swapon EPERM unshare EPERM" \
  "$("$EXECVM" --sudo --cap-drop NET_RAW -- python3 -c "$calls" | tr '\n' ' ' | sed 's/ $//')"
# With SYS_ADMIN given back, mount and unshare pass the filter; swapon is in no capability's
# rules, and reboot needs SYS_BOOT.
check_eq "--cap-add SYS_ADMIN opens mount and unshare, not swapon nor reboot" \
  "reboot EPERM mount ok swapon EPERM unshare ok" \
  "$("$EXECVM" --sudo --cap-add SYS_ADMIN -- python3 -c "$calls" | tr '\n' ' ' | sed 's/ $//')"
check_eq "unconfined --sudo (the host-root default) mounts a tmpfs" "mounted" \
  "$("$EXECVM" --sudo -- sh -c 'mount -t tmpfs none /mnt && echo mounted')"
# Once more on the bare root, where the initramfs is /.
check_eq "--bare --sudo --cap-drop ALL" "CapEff:	0000000000000000" \
  "$("$EXECVM" --bare --sudo --cap-drop ALL -- /bin/grep CapEff /proc/self/status)"
check_eq "--bare --sudo, unconfined" "CapEff:	$full" \
  "$("$EXECVM" --bare --sudo -- /bin/grep CapEff /proc/self/status)"

# No network by default (S3): lo alone, nothing reachable.
check_eq "no network: only lo" "lo" \
  "$("$EXECVM" -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")"
check_eq "no network: unreachable" "ENETUNREACH" "$("$EXECVM" -- python3 -c '
import errno, socket
try: socket.create_connection(("10.0.2.2", 80), timeout=30)
except OSError as e: print(errno.errorcode[e.errno])')"

# --network user: eth0, the route and the resolver, and the host's 127.0.0.1 as 10.0.2.2.
check_eq "--network user: lo and eth0" "lo eth0" \
  "$("$EXECVM" --network user -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" | tr '\n' ' ' | sed 's/ $//')"
check_eq "--network user: the default route via 10.0.2.2" "eth0 00000000 0202000A" \
  "$("$EXECVM" --network user -- awk '$2 == "00000000" {print $1, $2, $3}' /proc/net/route)"
host_resolv=$(cat /etc/resolv.conf 2>/dev/null)
check_eq "--network user: the guest's resolv.conf" "nameserver 10.0.2.3" \
  "$("$EXECVM" --network user -- cat /etc/resolv.conf)"
check_eq "the host's resolv.conf is untouched" "$host_resolv" "$(cat /etc/resolv.conf 2>/dev/null)"
check_eq "--bare --network user: the initramfs's resolv.conf" "nameserver 10.0.2.3" \
  "$("$EXECVM" --bare --network user -- /bin/cat /etc/resolv.conf)"

# A server on the host's loopback: it writes its port, then answers one connection.
server_py='
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); c.sendall(b"hello from the host\n"); c.close()
'
python3 -c "$server_py" "$TEST_TMP/port.tmp" &
server=$!
for _ in $(seq 200); do [ -s "$TEST_TMP/port.tmp" ] && break; sleep 0.05; done
port=$(cat "$TEST_TMP/port.tmp")
check_eq "--network user reaches the host's 127.0.0.1 as 10.0.2.2" "hello from the host" \
  "$("$EXECVM" --network user -- python3 -c "
import socket
print(socket.create_connection(('10.0.2.2', $port), timeout=60).makefile().readline(), end='')")"
kill "$server" 2> /dev/null
wait "$server" 2> /dev/null

# -p: a host port forwarded to a server in the guest. The host connects until the guest's server
# answers (QEMU accepts on the host port at once and closes when nothing listens in the guest).
host_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$EXECVM" --network user -p "$host_port:7000" -- python3 -c '
import socket
s = socket.socket(); s.bind(("0.0.0.0", 7000)); s.listen(1)
c, a = s.accept(); c.sendall(b"hello from the guest\n"); c.close()' > "$TEST_TMP/guest-server.out" 2>&1 &
guest=$!
got=$(python3 -c "
import socket, time
while True:
    try:
        if open('/proc/$guest/stat').read().split()[2] == 'Z':
            break  # execvm ended: no answer is coming
    except OSError:
        break
    try:
        line = socket.create_connection(('127.0.0.1', $host_port), timeout=60).makefile().readline()
    except OSError:
        line = ''
    if line:
        print(line, end='')
        break
    time.sleep(0.1)
")
wait "$guest"
check_eq "-p forwards a host port to the guest" "hello from the guest" "$got"
check_eq "-p: the guest's server ended well" "" "$(cat "$TEST_TMP/guest-server.out")"

# Misuse: one line, 125.
"$EXECVM" -p 8080:80 -- true > /dev/null 2> "$TEST_TMP/err"
check_eq "-p without a network: 125" "125" "$?"
check_eq "-p without a network: says so" "execvm: -p needs a network, and the guest has none by default: add --network user" "$(cat "$TEST_TMP/err")"
"$EXECVM" --cap-add WIZARDRY -- true > /dev/null 2> "$TEST_TMP/err"
check_eq "an unknown capability: 125" "125" "$?"
check_eq "an unknown capability: one line" "1" "$(wc -l < "$TEST_TMP/err")"

check_no_qemu_left "isolation"
check_no_temp_files "isolation"
finish
