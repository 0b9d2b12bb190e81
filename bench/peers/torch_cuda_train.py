#!/usr/bin/env python3
"""GPU peer for bench_train/bench_opencl: PyTorch CUDA training images/s of the paper CNN, fp32 (TF32 off).

Run on the GPU machine next to `bench_train --device opencl` (docs/GPU.md). Prints DESIGN.md JSON lines:
{"bench":"train","case":"paper_cnn.train.b64.torch_cuda","metric":"images_per_s","value":...,"device":"cuda",...}
Exits 3 with a note on stderr when torch or CUDA is missing (never fakes a number).
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
    print(f"torch_cuda_train: torch not importable ({e})", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_cnn import paper_cnn  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64,128")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN autotune (off by default)")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_cuda_train: CUDA not available, skipping", file=sys.stderr)
        sys.exit(3)
    # fp32 everywhere: the comparison with igradv's fp32 OpenCL kernels must not use TF32 tensor cores
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    dev = torch.device("cuda")
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(0)
    for b in [int(x) for x in a.batches.split(",")]:
        model = paper_cnn().to(dev).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
        loss_fn = nn.CrossEntropyLoss()
        x = (torch.rand(b, 3, 32, 32) * 2 - 1).to(dev)
        y = torch.randint(0, 10, (b,)).to(dev)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        for _ in range(a.warmup):
            step()
        torch.cuda.synchronize()
        rates = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step()
            torch.cuda.synchronize()
            rates.append(a.steps * b / (time.perf_counter() - t0))
        print(json.dumps({"bench": "train", "case": f"paper_cnn.train.b{b}.torch_cuda", "metric": "images_per_s",
                          "value": round(statistics.median(rates), 3), "unit": "images/s", "device": "cuda",
                          "threads": 0, "runs": a.runs, "gpu": name, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
