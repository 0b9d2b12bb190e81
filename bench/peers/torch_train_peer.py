#!/usr/bin/env python3
"""bench_train peer: PyTorch CPU training images/s of the paper CNN (same network, optimiser and batch sizes).

Prints one JSON line per batch size: {"batch": B, "images_per_s": median, "runs": R, "torch": version}.
Exits 3 (with a note on stderr) when torch is not importable.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_train import import_torch, median, train_parser, train_rates  # noqa: E402

torch = import_torch("torch_train_peer")


def main():
    ap = train_parser(steps=10, runs=3, warmup=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for b in [int(x) for x in a.batches.split(",")]:
        rates = train_rates(torch, b, a, finish=lambda loss: loss.item())
        cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "unknown")()
        print(json.dumps({"batch": b, "images_per_s": median(rates), "runs": a.runs,
                          "torch": torch.__version__, "isa": "torch-" + str(cap).lower()}), flush=True)


if __name__ == "__main__":
    main()
