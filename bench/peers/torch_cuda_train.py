#!/usr/bin/env python3
"""GPU peer for bench_train/bench_opencl: PyTorch CUDA training images/s of the paper CNN, fp32 (TF32 off).

Run on the GPU machine next to `bench_train --device opencl` (docs/GPU.md). Prints DESIGN.md JSON lines:
{"bench":"train","case":"paper_cnn.train.b64.torch_cuda","metric":"images_per_s","value":...,"device":"cuda",...}
Exits 3 with a note on stderr when torch or CUDA is missing (never fakes a number).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_train import import_torch, median, train_parser, train_rates  # noqa: E402

torch = import_torch("torch_cuda_train")


def main():
    ap = train_parser(steps=20, runs=5, warmup=5)
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
        rates = train_rates(torch, b, a, dev=dev, sync=torch.cuda.synchronize)
        print(json.dumps({"bench": "train", "case": f"paper_cnn.train.b{b}.torch_cuda", "metric": "images_per_s",
                          "value": round(median(rates), 3), "unit": "images/s", "device": "cuda",
                          "threads": 0, "runs": a.runs, "gpu": name, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
