#!/usr/bin/env bash
# Builds the protocol fuzzer with clang's libFuzzer and runs it for SECONDS (default 60).
# usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I"$root/src" \
  "$root/tests/fuzz/protocol_fuzz.cc" "$root/src/protocol/frame.cc" "$root/src/spec/run_spec.cc" \
  "$root/src/util/strings.cc" -o "$out/protocol_fuzz"
mkdir -p "$out/corpus"
"$out/protocol_fuzz" -max_total_time="${1:-60}" -rss_limit_mb=1024 -max_len=4096 "$out/corpus"
