#!/usr/bin/env python3
"""PyTorch peer of bench_ops: forward+backward of the paper CNN (METHOD.md) at batch N on the CPU, JSON lines."""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_cnn import paper_cnn  # noqa: E402


def torch_isa():
    """PyTorch's own CPU kernel path, e.g. "torch-avx512" (bench lines name the ISA actually used)."""
    cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "unknown")()
    return "torch-" + str(cap).lower()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = paper_cnn(inplace=False).train()
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.arange(a.batch) % 10
    loss_fn = nn.CrossEntropyLoss()
    flops = 0
    # forward FLOPs per image, counted like bench_ops: 2*MACs of convs and linears
    hw = {0: 32, 3: 32, 6: 16, 9: 16, 13: 8, 16: 8}
    for i, m in enumerate(model.features):
        if isinstance(m, nn.Conv2d):
            flops += 2 * m.out_channels * m.in_channels * 9 * hw[i] * hw[i]
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            flops += 2 * m.in_features * m.out_features
    times = []
    for r in range(a.runs + 1):
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        if r:
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    name = f"paper_cnn.fwd_bwd.b{a.batch}"
    for metric, value, unit in (("gflops", 3 * flops * a.batch / sec * 1e-9, "GFLOP/s"),
                                ("images_per_s", a.batch / sec, "images/s")):
        print(json.dumps({"bench": "torch_peer", "case": name, "metric": metric, "value": round(value, 3),
                          "unit": unit, "device": "cpu", "threads": a.threads, "runs": a.runs,
                          "peer": f"torch {torch.__version__}", "isa": torch_isa()}))


if __name__ == "__main__":
    main()
