#!/usr/bin/env python3
"""Latency percentiles from pgbench --log files.

  pgbench_pct.py OUTPUT_OF_PGBENCH LOG_PREFIX

Reads every LOG_PREFIX.* file (one line per transaction: client_id transaction_no time_us
script_no time_epoch time_us_part [schedule_lag]) and pgbench's own summary (for tps), and
prints one JSON object: tps, transactions, p50_ms, p90_ms, p99_ms, max_ms, mean_ms, failed.
Percentiles are nearest-rank over all transactions of all clients.
"""
import glob
import json
import math
import re
import sys


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def main(summary_path, prefix):
    latencies = []
    failed = 0
    for path in glob.glob(prefix + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 6:
                    continue
                # A failed or skipped transaction logs "failed"/"skipped" instead of a time.
                if not fields[2].isdigit():
                    failed += 1
                    continue
                latencies.append(int(fields[2]))
    latencies.sort()
    summary = open(summary_path).read()
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", summary)
    out = {
        "tps": float(tps.group(1)) if tps else None,
        "transactions": len(latencies),
        "p50_ms": percentile(latencies, 50) / 1000,
        "p90_ms": percentile(latencies, 90) / 1000,
        "p99_ms": percentile(latencies, 99) / 1000,
        "max_ms": (latencies[-1] / 1000) if latencies else None,
        "mean_ms": (sum(latencies) / len(latencies) / 1000) if latencies else None,
        "failed": failed,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
