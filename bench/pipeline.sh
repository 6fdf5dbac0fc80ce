#!/usr/bin/env bash
# libexecvm's pipelines (through `execvm pipeline run`, which is the library's run), each against
# a baseline measured in the same run (runs of the two in turn, medians; see paired.py):
#   1. 1 GiB through a local cat | cat pipeline  vs  the shell's cat | cat of the same bytes
#   2. MB/s of 256 MiB out of a vm stage (--bare, head -c) into a local cat  vs  execvm's own
#      stdout (execvm --bare -- head -c ... | cat), each less its run moving nothing (the boot)
#
# usage: bench/pipeline.sh [EXECVM]   (default build/execvm; RUNS=N pairs, default 10)
set -euo pipefail

EXECVM=$(realpath "${1:-build/execvm}")
RUNS=${RUNS:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$(dirname "$0")"
. ./lib.sh

cat > "$WORK/cat_cat.json" <<'JSON'
{"Command": {"args": ["cat"], "env": {}, "output": {"Command": {"args": ["cat"], "env": {}}}}}
JSON
gib=1073741824
echo "1. 1 GiB through cat | cat: a library pipeline (local runner) vs the shell's ($RUNS runs each)"
read -r lib shell r < <(python3 paired.py "$RUNS" \
  "head -c $gib /dev/zero | $EXECVM pipeline run $WORK/cat_cat.json > /dev/null" \
  "head -c $gib /dev/zero | cat | cat > /dev/null")
echo "   shell cat | cat (baseline)    median $(ms "$shell")"
echo "   pipeline cat | cat            median $(ms "$lib")"
echo "   ratio                         ${r}x the shell's"

bytes=268435456
vm_json() {  # BYTES: head -c BYTES in a bare VM stage, into a local cat
  cat > "$WORK/vm_$1.json" <<JSON
{"Command": {"args": ["head", "-c", "$1", "/dev/zero"], "env": {}, "runner": {"vm": {"bare": true}},
  "output": {"Command": {"args": ["cat"], "env": {}}}}}
JSON
  echo "$WORK/vm_$1.json"
}
echo
echo "2. 256 MiB out of a vm stage into a local cat vs execvm's own stdout ($RUNS runs each)"
read -r lib_full own_full _ < <(python3 paired.py "$RUNS" \
  "$EXECVM pipeline run $(vm_json $bytes) > /dev/null" \
  "$EXECVM --bare -- head -c $bytes /dev/zero | cat > /dev/null")
read -r lib_empty own_empty _ < <(python3 paired.py "$RUNS" \
  "$EXECVM pipeline run $(vm_json 0) > /dev/null" \
  "$EXECVM --bare -- head -c 0 /dev/zero | cat > /dev/null")
lib_rate=$(python3 -c "print('%.0f' % ($bytes / 1e6 / ($lib_full - $lib_empty)))")
own_rate=$(python3 -c "print('%.0f' % ($bytes / 1e6 / ($own_full - $own_empty)))")
echo "   execvm's stdout (baseline)    $own_rate MB/s (the run less a run moving nothing)"
echo "   the pipeline's vm stage       $lib_rate MB/s"
echo "   ratio                         $(ratio "$lib_rate" "$own_rate") of execvm's own"
