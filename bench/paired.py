#!/usr/bin/env python3
"""Times two commands run in turn (A B A B ...), so that a drift in the machine's speed falls on
both alike, and prints their median wall times and the median of the per-pair ratios A/B.

usage: paired.py RUNS 'COMMAND_A' 'COMMAND_B'     (each run by sh -c, output discarded)
"""
import statistics
import subprocess
import sys
import time


def wall(command):
    start = time.perf_counter()
    subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - start


runs, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
wall(a), wall(b)  # warm-up: page cache, the TSC cache
times_a, times_b = [], []
for _ in range(runs):
    times_a.append(wall(a))
    times_b.append(wall(b))
ratios = [x / y for x, y in zip(times_a, times_b)]
print("%.4f %.4f %.3f" % (statistics.median(times_a), statistics.median(times_b),
                          statistics.median(ratios)))
