#!/usr/bin/env python3
"""Peer timings for bench/bench_trees.c: scikit-learn and XGBoost on the same rows.

Usage: trees_peer.py DATAFILE N_TRAIN N_POOL D
DATAFILE holds x_train (u8 [N_TRAIN, D]), y_train (f32 [N_TRAIN]), labels (i32 [N_TRAIN]),
x_pool (u8 [N_POOL, D]), y_pool (f32 [N_POOL]), labels_pool (i32 [N_POOL]), back to back.
Held-out quality (pool MAE / accuracy) goes to stderr. Prints one JSON line per case (median seconds) with
the same "case" names as bench_trees; a peer that cannot be imported is skipped with a note
on stderr. Runs: IG_BENCH_PEER_RUNS (default 3; the slow scikit-learn GBR fit runs once,
and so does the XGBoost fit, unless IG_BENCH_PEER_SLOW_RUNS says otherwise).
"""
import json
import os
import statistics
import sys
import time

import numpy as np


def timed(fn, runs):
    ts, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def emit(impl, case, seconds, runs, threads):
    print(json.dumps({"bench": "trees", "case": case, "impl": impl, "metric": "seconds",
                      "value": seconds, "unit": "s", "device": "cpu", "threads": threads,
                      "runs": runs}), flush=True)


def main():
    path, n, npool, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    raw = np.fromfile(path, dtype=np.uint8)
    o = 0
    xt = raw[o:o + n * d].reshape(n, d); o += n * d
    yt = raw[o:o + 4 * n].view(np.float32).astype(np.float64); o += 4 * n
    lt = raw[o:o + 4 * n].view(np.int32); o += 4 * n
    xp = raw[o:o + npool * d].reshape(npool, d); o += npool * d
    yp = raw[o:o + 4 * npool].view(np.float32).astype(np.float64); o += 4 * npool
    lp = raw[o:o + 4 * npool].view(np.int32)
    runs = int(os.environ.get("IG_BENCH_PEER_RUNS", "3"))
    slow_runs = int(os.environ.get("IG_BENCH_PEER_SLOW_RUNS", "1"))
    threads = os.cpu_count() or 1

    try:
        import sklearn
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    except ImportError:
        print("trees_peer: scikit-learn not importable; skipped", file=sys.stderr)
        sklearn = None
    if sklearn is not None:
        gbr = GradientBoostingRegressor(loss="absolute_error", n_estimators=200, random_state=0)
        s, _ = timed(lambda: gbr.fit(xt, yt), slow_runs)
        emit("sklearn", "gbr_lad200.fit.500x3072", s, slow_runs, 1)
        s, pr = timed(lambda: gbr.predict(xp), runs)
        emit("sklearn", "gbr_lad200.predict.45000", s, runs, 1)
        print("trees_peer: sklearn gbr pool MAE %.4f" % np.mean(np.abs(pr - yp)), file=sys.stderr)
        rf = RandomForestClassifier(n_estimators=100, max_depth=5, random_state=0, n_jobs=threads)
        s, _ = timed(lambda: rf.fit(xt, lt), runs)
        emit("sklearn", "rf_d5_c3.fit.500x3072", s, runs, threads)
        s, pr = timed(lambda: rf.predict_proba(xp), runs)
        emit("sklearn", "rf_d5_c3.predict_proba.45000", s, runs, threads)
        print("trees_peer: sklearn rf pool accuracy %.4f" % np.mean(np.argmax(pr, 1) == lp),
              file=sys.stderr)

    try:
        import xgboost as xgb
    except ImportError:
        print("trees_peer: xgboost not importable; skipped", file=sys.stderr)
        xgb = None
    if xgb is not None:
        m = xgb.XGBRegressor(tree_method="hist", objective="reg:absoluteerror", n_estimators=200,
                             max_depth=3, learning_rate=0.1, n_jobs=threads, random_state=0)
        s, _ = timed(lambda: m.fit(xt, yt), slow_runs)
        emit("xgboost", "gbr_lad200.fit.500x3072", s, slow_runs, threads)
        s, pr = timed(lambda: m.predict(xp), runs)
        emit("xgboost", "gbr_lad200.predict.45000", s, runs, threads)
        print("trees_peer: xgboost gbr pool MAE %.4f" % np.mean(np.abs(pr - yp)), file=sys.stderr)
        # (XGBRFClassifier is left out: on 3072 features it takes minutes, not a peer here)


if __name__ == "__main__":
    main()
