#!/usr/bin/env python3
"""lal_plots: the LAL-IGradV figures (PNG + SVG) from an lal_cifar --out folder, with error bars over seeds.

usage: lal_plots.py DIR [--out FIGDIR]

Reads DIR/results.csv (written by `lal_cifar report DIR`), DIR/run-*.json and, when present,
the per-step score files of the grid runner, DIR/scores/<method>-f<frac>-k<k>-s<seed>/al<i>-mean.npy
(else the last al<i>-ep<j>.npy of AL epoch i), or flat DIR/**/scores-<method>[-f<frac>][-k<k>]-s<seed>-e<i>.npy,
and writes into FIGDIR (default DIR/figures):

  fig1_scores_<method>.png/.svg      DS and LD score histograms per AL epoch (from the score files)
  fig2_pct_increase_vs_frac_k<K>     % increase of A over A(0) against the unlabeled fraction, per method
  fig3_pct_increase_vs_k_f<F>        % increase against k, one figure per unlabeled fraction (Figs. 3-4)
  curves_k<K>_f<F>                   test accuracy against labels spent, per method

Error bars are one standard deviation over seeds. A figure whose inputs are missing (no score
files, a single fraction or k, no per-epoch accuracies) is skipped with a line on stderr.
Files are written to a temporary name beside the target and renamed over it.
"""
import csv
import glob
import itertools
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHOD_ORDER = ["ds", "ld", "rds", "rld", "rnd", "lcs", "margin", "entropy", "egl", "badge", "coreset"]
UNIT_RE = re.compile(r"^(?P<method>[a-z0-9_]+)-f(?P<frac>[0-9.]+)-k(?P<k>\d+)-s(?P<seed>\d+)$")
STEP_RE = re.compile(r"^al(?P<epoch>\d+)-(?:mean|ep(?P<ep>\d+))\.npy$")
SCORE_RE = re.compile(r"scores-(?P<method>[a-z0-9_]+?)(?:-f(?P<frac>[0-9.]+))?(?:-k(?P<k>\d+))?"
                      r"-s(?P<seed>\d+)-e(?P<epoch>\d+)\.npy$")
_seq = itertools.count()


def note(msg):
    print("lal_plots: " + msg, file=sys.stderr)


def method_key(m):
    return (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m)


LAL_METHODS = ("ds", "ld", "rds", "rld")
MARKERS = "osD^vP*Xph<>"


def method_style(m):
    """One colour and marker per method (11 methods outrun one 10-colour cycle); LAL-IGradV solid, baselines dashed."""
    i = method_key(m)[0]
    return {"color": plt.get_cmap("tab20")(2 * (i % 10) + (i // 10)), "marker": MARKERS[i % len(MARKERS)],
            "linestyle": "-" if m in LAL_METHODS else "--"}


def num(v):
    """A finite float from a CSV/JSON value, else None."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def save(fig, figdir, name):
    """PNG and SVG through a temporary beside the target (the project's .igtmp. pattern)."""
    for ext in ("png", "svg"):
        final = os.path.join(figdir, f"{name}.{ext}")
        tmp = os.path.join(figdir, f".{name}.{ext}.igtmp.{os.getpid()}.{next(_seq)}")
        try:
            fig.savefig(tmp, format=ext, dpi=100, metadata={"Date": None} if ext == "svg" else None)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    plt.close(fig)


def read_results(d):
    path = os.path.join(d, "results.csv")
    if not os.path.exists(path):
        note(f"{path} not found (run `lal_cifar report {d}` first): Figs. 2-4 skipped")
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def errorbar_lines(ax, rows, xkey, label_key="method"):
    """One line per method: x = rows[xkey], y = pct_increase_mean +- pct_increase_sd."""
    by_method = {}
    for r in rows:
        x, y = num(r[xkey]), num(r["pct_increase_mean"])
        if x is not None and y is not None:
            by_method.setdefault(r[label_key], []).append((x, y, num(r["pct_increase_sd"]) or 0.0))
    for m in sorted(by_method, key=method_key):
        pts = sorted(by_method[m])
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], capsize=3, label=m,
                    **method_style(m))
    return len(by_method)


def fig_pct_vs(rows, figdir, xkey, groupkey, xlabel, prefix, gname):
    groups = sorted({r[groupkey] for r in rows}, key=lambda v: num(v) if num(v) is not None else -1)
    drawn = 0
    for g in groups:
        sub = [r for r in rows if r[groupkey] == g]
        if len({r[xkey] for r in sub}) < 2:
            note(f"{prefix}: {gname} {g}: fewer than two values of {xkey}, skipped")
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        errorbar_lines(ax, sub, xkey)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("% increase of A over A(0)")
        ax.set_title(f"{gname} = {g} (mean ± sd over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
        save(fig, figdir, f"{prefix}{g}")
        drawn += 1
    return drawn


def read_runs(d):
    runs = []
    for path in sorted(glob.glob(os.path.join(d, "run-*.json"))):
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            note(f"skipping {path}: {e}")
            continue
        if isinstance(r, dict) and isinstance(r.get("method"), str) and num(r.get("a")) is not None:
            runs.append(r)
    return runs


def curve(r):
    """(labels spent, accuracy) points, as lal_report builds them; [] without per-epoch accuracies."""
    n_li, a0 = num(r.get("n_li")), num(r.get("a0"))
    pts = [(0.0, a0)] if a0 is not None else []
    n_epoch = 0
    for e in r.get("epochs") or []:
        acc, nl = num((e or {}).get("test_acc")), num((e or {}).get("n_labeled"))
        if acc is None or nl is None:
            continue
        pts.append((nl - n_li if n_li is not None and nl >= n_li else nl, acc))
        n_epoch += 1
    added = r.get("labeled_rows_added")
    if n_epoch and isinstance(added, list) and (not pts or len(added) > pts[-1][0]):
        pts.append((float(len(added)), num(r["a"])))
    return sorted(pts) if n_epoch else []


def fig_curves(runs, figdir):
    cells = {}
    for r in runs:
        c = curve(r)
        if c:
            cells.setdefault((r.get("k"), r.get("unlabeled_frac")), {}).setdefault(r["method"], []).append(c)
    if not cells:
        note("no run has per-epoch test accuracies (test_acc, n_labeled): learning curves skipped")
    for (k, frac), methods in sorted(cells.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for m in sorted(methods, key=method_key):
            by_x = {}
            for c in methods[m]:
                for x, y in c:
                    by_x.setdefault(x, []).append(y)
            xs = sorted(by_x)
            mean = [sum(by_x[x]) / len(by_x[x]) for x in xs]
            sd = [math.sqrt(sum((v - mu) ** 2 for v in by_x[x]) / (len(by_x[x]) - 1)) if len(by_x[x]) > 1 else 0.0
                  for x, mu in zip(xs, mean)]
            ax.errorbar(xs, mean, yerr=sd, capsize=3, label=f"{m} ({len(methods[m])} seeds)", **method_style(m))
        ax.set_xlabel("labels spent")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"learning curves, k = {k}, unlabeled fraction = {frac} (mean ± sd)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
        save(fig, figdir, f"curves_k{k}_f{frac}")


def load_npy(path):
    import numpy as np
    try:
        return np.load(path, allow_pickle=False).astype(float).ravel()
    except (OSError, ValueError) as e:
        note(f"skipping {path}: {e}")
        return None


def score_files(d):
    """(method, k, frac, seed, AL epoch) -> one score file, from both layouts."""
    found = {}
    for unit in sorted(glob.glob(os.path.join(d, "scores", "*", ""))):
        mu = UNIT_RE.match(os.path.basename(os.path.dirname(unit)))
        if not mu:
            continue
        best = {}  # AL epoch -> (rank, path): the mean file, else the last training epoch
        for p in glob.glob(os.path.join(unit, "al*.npy")):
            ms = STEP_RE.match(os.path.basename(p))
            if ms:
                rank = 1 << 30 if ms["ep"] is None else int(ms["ep"])
                e = int(ms["epoch"])
                if e not in best or rank > best[e][0]:
                    best[e] = (rank, p)
        for e, (_, p) in best.items():
            found[(mu["method"], mu["k"], mu["frac"], mu["seed"], e)] = p
    for p in sorted(glob.glob(os.path.join(d, "**", "scores-*.npy"), recursive=True)):
        mt = SCORE_RE.search(os.path.basename(p))
        if mt:
            found.setdefault((mt["method"], mt["k"] or "", mt["frac"] or "", mt["seed"], int(mt["epoch"])), p)
    return found


def fig_scores(d, figdir):
    by_cell = {}  # (method, k, frac) -> AL epoch -> files (one per seed)
    for (m, k, frac, _seed, e), p in sorted(score_files(d).items()):
        if m in ("ds", "ld", "rds", "rld"):
            by_cell.setdefault((m, k, frac), {}).setdefault(e, []).append(p)
    if not by_cell:
        note("no DS/LD score files (scores/<unit>/al<i>-*.npy): Fig. 1 skipped")
    for (m, k, frac) in sorted(by_cell, key=lambda c: (method_key(c[0]), c[1], c[2])):
        by_epoch = by_cell[(m, k, frac)]
        epochs = sorted(by_epoch)
        cols = min(len(epochs), 5)
        rows = (len(epochs) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.6 * rows), squeeze=False)
        for ax, e in zip(axes.ravel(), epochs):
            vals = [v for v in (load_npy(p) for p in by_epoch[e]) if v is not None]
            if vals:
                import numpy as np
                allv = np.concatenate(vals)
                allv = allv[np.isfinite(allv)]
                ax.hist(allv, bins=40, color="tab:blue", alpha=0.8)
            ax.set_title(f"{m.upper()} scores, AL epoch {e} ({len(vals)} seeds)", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[len(epochs):]:
            ax.axis("off")
        fig.tight_layout()
        save(fig, figdir, f"fig1_scores_{m}" + (f"_k{k}" if k else "") + (f"_f{frac}" if frac else ""))


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    d, figdir = args[0], None
    rest = args[1:]
    while rest:
        if rest[0] == "--out" and len(rest) > 1:
            figdir, rest = rest[1], rest[2:]
        else:
            print(f"lal_plots: unexpected argument '{rest[0]}' (usage: lal_plots.py DIR [--out FIGDIR])",
                  file=sys.stderr)
            return 2
    if not os.path.isdir(d):
        print(f"lal_plots: {d}: not a folder (expected an lal_cifar --out folder)", file=sys.stderr)
        return 2
    figdir = figdir or os.path.join(d, "figures")
    os.makedirs(figdir, exist_ok=True)
    rows = read_results(d)
    fig_pct_vs(rows, figdir, "unlabeled_frac", "k", "unlabeled fraction |UI| / n", "fig2_pct_increase_vs_frac_k", "k")
    fig_pct_vs(rows, figdir, "k", "unlabeled_frac", "labels per AL epoch k", "fig3_pct_increase_vs_k_f",
               "unlabeled fraction")
    fig_curves(read_runs(d), figdir)
    fig_scores(d, figdir)
    print(f"lal_plots: figures in {figdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
