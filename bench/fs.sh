#!/usr/bin/env bash
# Metadata-heavy work in a shared work tree: `git status` and `find | wc -l` on a git
# repository of 20,000 files, here and in a VM over virtiofs and over 9p. Times are taken inside
# the VM around the command only (boot excluded), medians of RUNS runs, each in a fresh VM.
#
# usage: bench/fs.sh [EXECVM]      (default build/execvm; RUNS=N; FILES="N ...", default
#                                  "20000 10000": the smaller fits virtiofsd's open-file limit
#                                  on hosts where it is as low as 20,000)
set -euo pipefail

EXECVM=$(realpath "${1:-build/execvm}")
RUNS=${RUNS:-5}
FILES=${FILES:-20000 10000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/execvm-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# N files in directories of 100, committed, with one file changed and one new.
make_tree() {
  rm -rf "$WORK/tree"
  mkdir -p "$WORK/tree"
  cd "$WORK/tree"
  python3 - "$1" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = "d%03d" % (i // 100)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d.txt" % (d, i), "w") as f:
        f.write("file %d\n" % i)
PY
  git init -q . && git add -A && git -c user.name=b -c user.email=b@b commit -qm tree
  echo changed >> d000/f00000.txt
  echo new > d001/new.txt
}

# One timing, in milliseconds, of "$@" run by the shell given.
timed='s=$(date +%s%N); "$@" > /dev/null || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))'
median_of() {  # RUNNER... -- COMMAND...
  local runs=() i
  for i in $(seq "$RUNS"); do runs+=("$("$@")"); done
  # A failed run makes the figure "failed": the time of a command that broke means nothing.
  if printf '%s\n' "${runs[@]}" | grep -q failed; then echo failed; return; fi
  printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
here() { sh -c "$timed" sh "$@"; }
in_vm() {
  local fs=$1 out
  shift
  if out=$("$EXECVM" --share-fs "$fs" -- sh -c "$timed" sh "$@" 2> "$WORK/err"); then echo "$out"; else echo failed; fi
}

echo "metadata in a shared work tree ($RUNS runs each, medians; ms; the VM's figures are"
echo "taken inside it around the command, boot excluded; virtiofsd keeps a file open for each"
echo "file the guest looked up, and the open-file limit here is $(ulimit -Hn))"
for files in $FILES; do
  make_tree "$files"
  printf '   %-28s %8s %9s %8s\n' "$files files" host virtiofs 9p
  for cmd in "git status --porcelain" "find . -type f"; do
    # shellcheck disable=SC2086
    h=$(median_of here $cmd)
    v=$(median_of in_vm virtiofs $cmd)
    p=$(median_of in_vm 9p $cmd)
    x() { case $1 in *[!0-9]*) echo "-" ;; *) python3 -c "print('%.1f' % ($1 / max($2, 1)))" ;; esac; }
    printf '   %-28s %8s %9s %8s   (virtiofs %sx, 9p %sx the host)\n' "$cmd" "$h" "$v" "$p" \
      "$(x "$v" "$h")" "$(x "$p" "$h")"
  done
done
