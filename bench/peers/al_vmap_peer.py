#!/usr/bin/env python3
"""bench_al peer: per-sample gradients of the paper CNN with torch.func vmap(grad), and the DS scores they give.

Reads DIR/model.safetensors (igradv's state_dict of the paper CNN, names as PyTorch's) and
DIR/inputs.safetensors (x [N,3,32,32], y [N], the flat reference D over all parameters in
named_parameters order, igradv's DS scores, metadata weight_decay). In eval mode it computes
per-instance g_n with vmap(grad), then DS = cos(D, g_n + wd theta) from D.g_n, theta.g_n and
|g_n|^2 (what igradv's engine returns), times that (median of --runs
after one warm-up), checks its scores against igradv's and prints one JSON line:
{"images_per_s": V, "max_abs_diff": d, "n": N, "params": P, "runs": R, "torch": version, "device": D}.
--device cuda runs it on the GPU (fp32, TF32 off, timed with torch.cuda.synchronize): bench_al's peer
for an OpenCL device. Exits 3 when torch or safetensors is missing or CUDA is asked for and absent,
4 when the scores differ by more than 1e-3.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from safetensors import safe_open
    from safetensors.torch import load_file
    from torch.func import functional_call, grad, vmap
except Exception as e:  # pragma: no cover - peer is optional
    print(f"al_vmap_peer: torch/safetensors not importable ({e})", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_cnn import paper_cnn  # noqa: E402


def load(d):
    model = paper_cnn(inplace=False)
    model.load_state_dict(load_file(os.path.join(d, "model.safetensors")))
    model.eval()
    path = os.path.join(d, "inputs.safetensors")
    t = load_file(path)
    with safe_open(path, framework="pt") as f:
        wd = float(f.metadata()["weight_decay"])
    return model, t["x"], t["y"].long(), t["reference"].double(), t["ds"], wd


def ds_scores(model, x, y, ref, wd):
    """DS per instance from vmap(grad) per-sample gradients over every parameter; the dots
    D.g_n, theta.g_n and |g_n|^2 per parameter tensor in float32 (no [N, P] concatenation),
    the scalars then in float64."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0), reduction="sum")

    g = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    n = x.shape[0]
    dot = torch.zeros(n, dtype=torch.float64, device=x.device)
    tdot = torch.zeros(n, dtype=torch.float64, device=x.device)
    sq = torch.zeros(n, dtype=torch.float64, device=x.device)
    off = 0
    for k, th in params.items():
        gk = g[k].reshape(n, -1)
        m = gk.shape[1]
        dot += (gk @ ref[off:off + m].float()).double()
        tdot += (gk @ th.reshape(-1)).double()
        sq += (gk * gk).sum(1).double()
        off += m
    theta = torch.cat([v.reshape(-1) for v in params.values()]).double()
    dd = dot + wd * (theta @ ref)
    dsq = sq + 2 * wd * tdot + wd * wd * (theta @ theta)
    return dd / (dsq.sqrt() * ref.norm()), off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            print("al_vmap_peer: --device cuda but CUDA is not available", file=sys.stderr)
            sys.exit(3)
        torch.backends.cuda.matmul.allow_tf32 = False   # fp32 products, as igradv's OpenCL kernels
        torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    model, x, y, ref, ds_ig, wd = load(a.dir)
    model, x, y, ref = model.to(dev), x.to(dev), y.to(dev), ref.to(dev)
    ds, p = ds_scores(model, x, y, ref, wd)          # warm-up, and the check
    ds = ds.cpu()
    if p != ref.shape[0]:
        print(f"al_vmap_peer: {p} parameters, igradv's reference has {ref.shape[0]}", file=sys.stderr)
        sys.exit(4)
    times = []
    for _ in range(a.runs):
        sync()
        t0 = time.perf_counter()
        ds_scores(model, x, y, ref, wd)
        sync()
        times.append(time.perf_counter() - t0)
    diff = float((ds - ds_ig).abs().max())
    print(f"al_vmap_peer: DS torch {ds[:4].tolist()} igradv {ds_ig[:4].tolist()} max |diff| {diff:.3g}", file=sys.stderr)
    print(json.dumps({"images_per_s": x.shape[0] / statistics.median(times), "max_abs_diff": diff, "n": x.shape[0],
                      "params": p, "runs": a.runs, "torch": torch.__version__, "device": a.device}), flush=True)
    if diff > 1e-3:
        sys.exit(4)


if __name__ == "__main__":
    main()
