# execvm initramfs and execvm init, booted by plain QEMU with execvm's kernel: the issue's example
# as written (CMD after `--`, quoted as in a shell), CMD from the base64 JSON parameter, the exit
# status through isa-debug-exit, an orphan reaped, a root filesystem from a tarball (modes,
# owners, hard links, devices), each compression. Every boot has a timeout: a hang fails.
. "$(dirname "$0")/lib.sh"
kernel=$("$EXECVM" kernel path) || { fail "no kernel"; finish; }
cd "$TEST_TMP" || exit 1

boot() {  # boot INITRD APPEND [QEMU ARGS...]: the console in $TEST_TMP/console, QEMU's status
  local initrd=$1 append=$2
  shift 2
  timeout 120 qemu-system-x86_64 -machine microvm,acpi=off -nographic -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "$append" "$@" < /dev/null 2>&1 |
    tr -d '\r' > "$TEST_TMP/console"
  return "${PIPESTATUS[0]}"
}
console_has() {  # console_has WHAT LINE
  if grep -qxF -- "$2" "$TEST_TMP/console"; then pass "$1"
  else fail "$1: no line [$2] on the console:"; tail -20 "$TEST_TMP/console" >&2; fi
}

# The issue's example as written: CMD after `--`, its quotes a shell's; gzip by default.
"$EXECVM" initramfs --output initrd.gz /bin/sh
check_eq "execvm initramfs /bin/sh" "0 1f8b" "$? $(head -c2 initrd.gz | od -An -tx1 | tr -d ' ')"
boot initrd.gz "console=ttyS0 rdinit=/execvm -- init /bin/sh -c 'echo hi'"
check_eq "the example: QEMU exits 0 (-no-reboot)" 0 $?
console_has "the example prints hi" "hi"
console_has "init reports the status on the console" "execvm init: exit status 0"

# CMD from execvm.argv= (base64 of its JSON argv), its status through isa-debug-exit, an orphan
# reaped: a subshell's background job outlives it and ends while the command still runs.
"$EXECVM" initramfs --compress none --output initrd.cpio busybox
check_eq "--compress none" "0 070701" "$? $(head -c6 initrd.cpio)"
script='(busybox sleep 0.3 &); busybox sleep 2; n=0
for f in /proc/[0-9]*/stat; do read -r s < "$f"; case $s in *") Z "*) n=$((n + 1));; esac; done
echo "zombies: $n"; echo "args: $#: $1"; exit 5'
json=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' busybox sh -c "$script" sh 'two  words "q"')
boot initrd.cpio "console=ttyS0 quiet rdinit=/execvm execvm.argv=$(printf %s "$json" | base64 -w0)" \
  -device isa-debug-exit
check_eq "isa-debug-exit: QEMU exits with (5 << 1) | 1" 11 $?
console_has "CMD from execvm.argv=, byte for byte" 'args: 1: two  words "q"'
console_has "the orphan was reaped" "zombies: 0"
console_has "the status on the console" "execvm init: exit status 5"

# A root filesystem from a tarball (made without root: modes, owners, a hard link, a device),
# an --add replacing one of its files, zstd; CMD after `--` with both kinds of quotes.
cat > probe <<'SH'
stat -c "%u:%g %a %n" /home/app /home/app/notes; stat -c "%h links" /bin/hard
[ /bin/hard -ef /bin/busybox ] && echo "one file"; stat -c "%F %t,%T" /etc/testnull
echo x > /etc/testnull && cat /etc/testnull && echo "a device"; cat /etc/hostname; stat -c %a /tmp
SH
python3 - "$(command -v busybox)" root.tar.gz probe <<'PY'
import io, sys, tarfile, subprocess
busybox, out = sys.argv[1], sys.argv[2]
applets = subprocess.run([busybox, "--list"], capture_output=True, text=True).stdout.split()
def info(name, type=tarfile.REGTYPE, mode=0o644, uid=0, size=0, link=""):
    i = tarfile.TarInfo(name); i.type = type; i.mode = mode; i.uid = i.gid = uid
    i.size = size; i.linkname = link; i.mtime = 1600000000; return i
with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
    for d in ["bin", "dev", "etc", "home", "tmp"]:
        tar.addfile(info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
    data = open(busybox, "rb").read()
    tar.addfile(info("bin/busybox", mode=0o755, size=len(data)), io.BytesIO(data))
    tar.addfile(info("bin/hard", tarfile.LNKTYPE, 0o755, link="bin/busybox"))
    for a in applets:
        if a != "busybox": tar.addfile(info("bin/" + a, tarfile.SYMTYPE, 0o777, link="busybox"))
    dev = info("etc/testnull", tarfile.CHRTYPE, 0o666); dev.devmajor, dev.devminor = 1, 3
    tar.addfile(dev)
    probe = open(sys.argv[3], "rb").read()
    tar.addfile(info("probe", mode=0o755, size=len(probe)), io.BytesIO(probe))
    tar.addfile(info("home/app", tarfile.DIRTYPE, 0o700, uid=1000))
    tar.addfile(info("home/app/notes", mode=0o640, uid=1000, size=5), io.BytesIO(b"mine\n"))
    tar.addfile(info("etc/hostname", size=7), io.BytesIO(b"alpine\n"))
PY
echo replaced > hostname
"$EXECVM" initramfs --compress zstd --output initrd.zst --from-tar root.tar.gz --add "$TEST_TMP/hostname:/etc/hostname"
check_eq "--from-tar, --compress zstd" "0 28b52ffd" "$? $(head -c4 initrd.zst | od -An -tx1 | tr -d ' ')"
boot initrd.zst "console=ttyS0 quiet rdinit=/execvm -- init /bin/sh -c '/probe && echo \"both  kinds of quotes\"'" \
  -device isa-debug-exit
check_eq "the tarball's root: QEMU exits with (0 << 1) | 1" 1 $?
want="1000:1000 700 /home/app
1000:1000 640 /home/app/notes
2 links
one file
character special file 1,3
a device
replaced
1777
both  kinds of quotes
execvm init: exit status 0"
check_eq "the tarball's modes, owners, hard link, device; the --add's file" "$want" \
  "$(sed -n '/^1000:1000 700/,/^execvm init/p' "$TEST_TMP/console")"

got=$("$EXECVM" init -- /bin/true 2>&1)
check_eq "execvm init elsewhere than PID 1: a usage error" "2 execvm: init is the first process of a machine or a container (PID 1): boot it as the kernel's init, e.g. rdinit=/execvm -- init COMMAND... with an initramfs from execvm initramfs" "$? $got"
"$EXECVM" initramfs --output x.gz --from-tar no-such.tar 2> err
check_eq "a tarball that is not there: 125, nothing written" "125 " "$? $(ls x.gz* 2>/dev/null)"

# The same initrds as execvm's own root (--initrd): its agent appended, the streams and the
# status as in every run; gzip and plain archives; the tarball's tree with its files.
got=$(printf 'in\n' | "$EXECVM" --kernel "$kernel" --initrd initrd.gz -- /bin/sh -c 'read l; echo "$l out"; echo err >&2; exit 3' 2> err)
check_eq "--initrd: stdin, stdout, the status" "3 in out" "$? $got"
check_eq "--initrd: stderr" "err" "$(cat err)"
got=$("$EXECVM" --kernel "$kernel" --initrd initrd.zst -- /bin/busybox cat /etc/hostname)
check_eq "--initrd of a zstd tarball's tree" "$(cat "$TEST_TMP/hostname")" "$got"
"$EXECVM" --kernel "$kernel" --initrd no-such.gz -- true 2> err
check_eq "--initrd of a missing file: 125, one line" "125 1" "$? $(wc -l < err)"

check_no_qemu_left "initramfs"
check_no_temp_files "initramfs"
finish
