#!/usr/bin/env python3
"""Runs the commands in turn, RUNS rounds after one round of warm-up, each after its PREPARE
(untimed), and prints each command's median wall seconds; paired.py is the two-command form that
also prints the median of the per-pair ratios.

usage: alternate.py RUNS 'PREPARE_1' 'COMMAND_1' ['PREPARE_2' 'COMMAND_2' ...]
       (each run by sh -c; the commands' output is discarded)
"""
import statistics
import subprocess
import sys
import time


def wall(prepare, command):
    subprocess.run(["sh", "-c", prepare], check=True)
    start = time.perf_counter()
    subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - start


runs, pairs = int(sys.argv[1]), sys.argv[2:]
jobs = list(zip(pairs[0::2], pairs[1::2]))
for job in jobs:
    wall(*job)
times = [[] for _ in jobs]
for _ in range(runs):
    for i, job in enumerate(jobs):
        times[i].append(wall(*job))
print(" ".join("%.4f" % statistics.median(t) for t in times))
