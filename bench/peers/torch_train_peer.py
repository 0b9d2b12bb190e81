#!/usr/bin/env python3
"""bench_train peer: PyTorch CPU training images/s of the paper CNN (same network, optimiser and batch sizes).

Prints one JSON line per batch size: {"batch": B, "images_per_s": median, "runs": R, "torch": version}.
Exits 3 (with a note on stderr) when torch is not importable.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
except Exception as e:  # pragma: no cover - peer is optional
    print(f"torch_train_peer: torch not importable ({e})", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_cnn import paper_cnn  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64,128")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for b in [int(x) for x in a.batches.split(",")]:
        model = paper_cnn()
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
        loss_fn = nn.CrossEntropyLoss()
        x = torch.rand(b, 3, 32, 32) * 2 - 1
        y = torch.randint(0, 10, (b,))

        def step():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        for _ in range(a.warmup):
            step()
        rates = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step()
            rates.append(a.steps * b / (time.perf_counter() - t0))
        cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "unknown")()
        print(json.dumps({"batch": b, "images_per_s": statistics.median(rates), "runs": a.runs,
                          "torch": torch.__version__, "isa": "torch-" + str(cap).lower()}), flush=True)


if __name__ == "__main__":
    main()
