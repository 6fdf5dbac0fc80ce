#!/usr/bin/env python3
"""Runs a shell command with a pseudo-terminal as its stdin, stdout and stderr, as at a user's
terminal; copies what it prints to stdout and exits with its status.

usage: on_terminal.py [--size ROWS COLS] [--wait-for TEXT] [--type TEXT]... COMMAND

--wait-for and --type act in order: wait until the output so far contains TEXT, type TEXT.
A command still running after 120 seconds (ON_TERMINAL_TIMEOUT) is killed with its process
group: what it printed goes to stdout, a line saying so to stderr, and the status is 124.
"""
import fcntl
import os
import pty
import signal
import struct
import sys
import termios

args = sys.argv[1:]
rows, cols, script = 24, 80, []
while args and args[0].startswith("--"):
    if args[0] == "--size":
        rows, cols, args = int(args[1]), int(args[2]), args[3:]
    elif args[0] in ("--wait-for", "--type"):
        script.append((args[0], args[1].encode()))
        args = args[2:]
    else:
        sys.exit("on_terminal.py: unknown option " + args[0])

pid, master = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", args[0]])
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
out = bytearray()


def give_up(signum, frame):
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.write("on_terminal.py: still running after %ss, killed: %s\n" % (timeout, args[0]))
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(124)


timeout = int(os.environ.get("ON_TERMINAL_TIMEOUT", "120"))
signal.signal(signal.SIGALRM, give_up)
signal.alarm(timeout)


def read_some():
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the terminal's last user is gone
        return False
    out.extend(chunk)
    return bool(chunk)


for action, text in script:
    if action == "--type":
        os.write(master, text)
    else:
        while text not in out:
            if not read_some():
                break
while read_some():
    pass
sys.stdout.buffer.write(out)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
