#!/usr/bin/env python3
# lal_cifar grids end to end on a synthetic CIFAR-10 folder: one invocation over fractions x k x seeds (files, one line-1 training per fraction and seed, score .npy), --resume extension, --shard blocks, bad grid flags.
import ast
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth_cifar import make_cifar  # noqa: E402

LAL = sys.argv[1]
CASE = sys.argv[2]
TINY = ["--preset", "quick", "--train-subset", "200", "--test-size", "100", "--al-epochs", "1", "--train-epochs", "1",
        "--device", "cpu", "--threads", "1", "--no-plots", "--track-accuracy"]
FRACS, KS, SEEDS, METHODS = ["0.3", "0.6"], ["10", "20"], ["1", "2"], ["ds", "rnd"]


def run(args, expect=0):
    p = subprocess.run([LAL] + TINY + args, capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit("FAIL: %s exited %d, expected %d\n%s" % (" ".join(args), p.returncode, expect, p.stderr[-3000:]))
    return p


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def grid_args(data, out, seeds=SEEDS):
    return ["--data", data, "--out", out, "--unlabeled-frac", ",".join(FRACS), "--k", ",".join(KS),
            "--seeds", ",".join(seeds), "--methods", ",".join(METHODS)]


def unit(m, f, k, s):
    return "%s-f%s-k%s-s%s" % (m, f, k, s)


def units(seeds=SEEDS):
    return [unit(m, f, k, s) for f in FRACS for s in seeds for k in KS for m in METHODS]


def load(out, u):
    with open(os.path.join(out, "run-%s.json" % u)) as f:
        return json.load(f)


def read_npy(path):
    """(descr, shape, values) of a 1-d .npy file, parsed by hand (format 1.0)."""
    with open(path, "rb") as f:
        b = f.read()
    check(b[:6] == b"\x93NUMPY" and b[6] == 1, "%s: not a version 1.0 .npy file" % path)
    hlen = struct.unpack("<H", b[8:10])[0]
    head = ast.literal_eval(b[10:10 + hlen].decode("latin1"))
    n = head["shape"][0]
    fmt = {"<f8": "d", "<i8": "q"}[head["descr"]]
    return head["descr"], head["shape"], struct.unpack("<%d%s" % (n, fmt), b[10 + hlen:10 + hlen + 8 * n])


def line1_per_group(out, names):
    """{(frac, seed): number of runs that trained the line-1 model}."""
    g = {}
    for u in names:
        j = load(out, u)
        key = (j["unlabeled_frac"], j["seed"])
        g[key] = g.get(key, 0) + (1 if j["line1_trained"] else 0)
    return g


def check_scores(out, u, k):
    d = os.path.join(out, "scores")
    descr, shape, ep = read_npy(os.path.join(d, "scores-%s-e1-t1.npy" % u))
    check(descr == "<f8" and shape == (k,), "%s e1-t1: %s %s, expected float64 (%d,)" % (u, descr, shape, k))
    _, _, mean = read_npy(os.path.join(d, "scores-%s-e1.npy" % u))
    check(list(mean) == list(ep), "%s: the mean over one training epoch differs from that epoch's scores" % u)
    j = load(out, u)
    check(abs(sum(mean) / k - j["epochs"][0]["score_mean"]) < 1e-12, "%s: the e1 scores do not average to score_mean" % u)
    descr, _, rows = read_npy(os.path.join(d, "rows-%s-e1.npy" % u))
    first = j["labeled_rows_added"][:k]   # line 2's draw: the instances scored at AL epoch 1
    check(descr == "<i8" and list(rows) == first, "%s rows-e1 %s vs the first k rows added %s" % (u, rows, first))
    try:
        import numpy
        check(numpy.load(os.path.join(d, "scores-%s-e1-t1.npy" % u)).tolist() == list(ep), "numpy.load disagrees")
    except ImportError:
        pass


def case_grid(tmp, data):
    """One invocation over 2 fractions x 2 k x 2 seeds x 2 methods, then one more seed with --resume."""
    out = os.path.join(tmp, "G")
    p = run(grid_args(data, out))
    names = units()
    for u in names:
        j = load(out, u)
        check(j["unit"] == u and j["a"] is not None, "run-%s.json: unit %s, a %s" % (u, j.get("unit"), j.get("a")))
        check([e["n_labeled"] for e in j["epochs"]] == [j["n_li"] + j["k"]], "%s: n_labeled per epoch" % u)
        check(isinstance(j["epochs"][0]["test_acc"], float), "%s: no test accuracy after the AL epoch" % u)
    check(sorted(os.path.basename(f) for f in glob.glob(os.path.join(out, "run-*.json"))) ==
          sorted("run-%s.json" % u for u in names), "run files differ from the grid's units")
    for f in ("summary.csv", "results.csv", "results.md"):
        check(os.path.getsize(os.path.join(out, f)) > 0, f + " missing or empty")
    g = line1_per_group(out, names)
    check(len(g) == 4 and all(v == 1 for v in g.values()), "line-1 trainings per (fraction, seed): %s" % g)
    check(p.stderr.count("init-train AL 0/1 epoch 1/1") == 4, "the log shows %d line-1 trainings, expected 4"
          % p.stderr.count("init-train AL 0/1 epoch 1/1"))
    check(len(glob.glob(os.path.join(out, "ckpt", "init-*.safetensors"))) == 4, "not one line-1 model file per pair")
    for u in names:
        if u.startswith("ds-"):
            check_scores(out, u, int(u.split("-k")[1].split("-")[0]))
    before = {u: load(out, u)["a"] for u in names}
    # a third seed: only its 8 runs run, the 16 finished ones are reused as they are
    p = run(grid_args(data, out, SEEDS + ["3"]) + ["--resume"])
    check(p.stderr.count("(finished before)") == 16, "%d finished runs reused, expected 16" % p.stderr.count("(finished before)"))
    check(p.stderr.count("init-train AL 0/1 epoch 1/1") == 2, "the extension trained %d line-1 models, expected 2"
          % p.stderr.count("init-train AL 0/1 epoch 1/1"))
    check("24 runs (16 finished before), 2 line-1 models trained" in p.stderr, "the closing line: " + p.stderr[-400:])
    check(all(load(out, u)["a"] == a for u, a in before.items()), "a reused run's result changed")
    check(line1_per_group(out, units(SEEDS + ["3"])) == {(float(f), s): 1 for f in FRACS for s in (1, 2, 3)},
          "line-1 trainings after the extension: %s" % line1_per_group(out, units(SEEDS + ["3"])))
    with open(os.path.join(out, "summary.csv")) as f:
        rows = [r.split(",") for r in f.read().splitlines()[1:]]
    check(len([r for r in rows if r[1] == "3"]) == 8, "summary.csv lacks the 8 runs of seed 3")
    with open(os.path.join(out, "results.md")) as f:
        md = f.read()
    check("(3)" in md and "Built from 24 finished run files" in md, "results.md does not count the third seed")


def case_shard(tmp, data):
    """Three --shard blocks cover a grid once and give the results of one invocation."""
    whole, part = os.path.join(tmp, "W"), os.path.join(tmp, "P")
    grid = ["--unlabeled-frac", "0.3", "--k", "10", "--seeds", "1,2", "--methods", "ds,rnd"]
    run(["--data", data, "--out", whole] + grid)
    seen = []
    for i in range(3):
        p = run(["--data", data, "--out", part, "--shard", "%d/3" % i] + grid)
        seen += [l.split("] ")[1].split(":")[0] for l in p.stderr.splitlines() if " A0 " in l and "] " in l]
    names = [unit(m, "0.3", "10", s) for s in ("1", "2") for m in ("ds", "rnd")]
    check(seen == names, "the shards ran %s, expected each unit once in order %s" % (seen, names))
    for u in names:
        a, b = load(whole, u), load(part, u)
        check((a["a0"], a["a"], a["labeled_rows_added"]) == (b["a0"], b["a"], b["labeled_rows_added"]),
              "%s: the sharded run differs from the whole grid's" % u)


def case_bad(tmp, data):
    """Bad grid flags: exit 2, a message naming the flag, no run file written."""
    out = os.path.join(tmp, "B")
    for args, needle in [(["--unlabeled-frac", "0.3,,0.5"], "--unlabeled-frac"), (["--unlabeled-frac", "0.3,1.5"], "--unlabeled-frac"),
                         (["--k", "10,10"], "--k"), (["--k", "10,x"], "--k"), (["--seeds", "1,-2"], "--seeds"),
                         (["--methods", "ds,zz"], "--methods"), (["--shard", "3/3"], "--shard"), (["--shard", "1"], "--shard"),
                         (["--unlabeled-frac", "0.3,0.05", "--k", "10"], "label budget")]:
        p = run(["--data", data, "--out", out] + args, expect=2)
        check(needle in p.stderr, "%s: the message does not name %s: %s" % (args, needle, p.stderr))
        check(not glob.glob(os.path.join(out, "run-*.json")), "%s wrote run files" % args)


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "cifar")
    make_cifar(data)
    {"grid": case_grid, "shard": case_shard, "bad": case_bad}[CASE](tmp, data)
print("ok")
