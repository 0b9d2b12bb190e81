#!/usr/bin/env python3
"""Compare two lal_cifar --out folders (run JSONs and summary.csv) ignoring timings (and the keys named after
--ignore); exit 1 and name the difference."""
import csv
import glob
import json
import os
import sys

TIMING = ("_s", "seconds_per_al_epoch", "sec_per_al_epoch", "device")


IGNORED = set()


def timing(key):
    return key.endswith(TIMING[0]) or key in TIMING[1:] or key in IGNORED


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not timing(k)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def main(a, b):
    runs_a = sorted(os.path.basename(p) for p in glob.glob(os.path.join(a, "run-*.json")))
    runs_b = sorted(os.path.basename(p) for p in glob.glob(os.path.join(b, "run-*.json")))
    if not runs_a or runs_a != runs_b:
        print(f"run files differ: {runs_a} vs {runs_b}")
        return 1
    for name in runs_a:
        with open(os.path.join(a, name)) as fa, open(os.path.join(b, name)) as fb:
            ja, jb = strip(json.load(fa)), strip(json.load(fb))
        if ja != jb:
            diff = [k for k in ja if ja.get(k) != jb.get(k)]
            print(f"{name}: differs in {diff}")
            return 1
    rows = []
    for d in (a, b):
        with open(os.path.join(d, "summary.csv")) as f:
            rows.append([{k: v for k, v in r.items() if not timing(k)} for r in csv.DictReader(f)])
    if rows[0] != rows[1]:
        print("summary.csv differs")
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    while len(args) > 2 and args[0] == "--ignore":
        IGNORED.add(args[1])
        args = args[2:]
    sys.exit(main(args[0], args[1]))
