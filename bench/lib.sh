# The benchmarks' shared helpers, sourced by each script from bench/: figures as the README
# prints them, and alternate (see alternate.py).
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
ms() { python3 -c "print('%.0f ms' % ($1 * 1000))"; }
secs() { python3 -c "print('%.2f s' % $1)"; }
mbs() { python3 -c "print('%.0f MB/s' % ($1 / 1e6 / $2))"; }
alternate() { python3 alternate.py "$@"; }
