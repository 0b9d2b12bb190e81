#!/usr/bin/env python3
"""PyTorch twin of apps/train_cifar: the paper CNN on the first N CIFAR-10 training images.

Same settings as train_cifar: CIFAR-10 binary files, the first --train-size training records
in file order, the whole test set, inputs x/255 then (x - 0.5) / 0.5, batch 32, Adam
(lr 1e-4, weight decay 5e-4), PyTorch default initialisation, shuffling every epoch,
test accuracy in eval mode. Prints per-epoch lines like train_cifar and a last line
"final test_acc X". Optional --save writes the state_dict as safetensors.
"""
import argparse
import os
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
except Exception as e:  # pragma: no cover
    print(f"torch_train_cifar: torch not importable ({e})", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_cnn import paper_cnn  # noqa: E402


def load_cifar(root, train, n):
    d = root
    if os.path.isdir(os.path.join(root, "cifar-10-batches-bin")):
        d = os.path.join(root, "cifar-10-batches-bin")
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    recs = []
    total = 0
    for f in files:
        a = np.fromfile(os.path.join(d, f), dtype=np.uint8)
        if a.size % 3073:
            raise SystemExit(f"{f}: size {a.size} is not a multiple of 3073")
        a = a.reshape(-1, 3073)
        recs.append(a)
        total += a.shape[0]
        if n and total >= n:
            break
    a = np.concatenate(recs)
    if n:
        a = a[:n]
    y = a[:, 0].astype(np.int64)
    x = a[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return torch.from_numpy(x), torch.from_numpy(y)


def evaluate(model, x, y, bs=250):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], bs):
            out = model(x[i:i + bs])
            loss += nn.functional.cross_entropy(out, y[i:i + bs], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + bs]).sum().item()
    model.train()
    return loss / x.shape[0], correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data")
    ap.add_argument("--train-size", type=int, default=50000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load_cifar(a.data, True, a.train_size)
    xte, yte = load_cifar(a.data, False, 0)
    model = paper_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    g = torch.Generator().manual_seed(a.seed)
    print(f"torch {torch.__version__} paper CNN, train {xtr.shape[0]}, test {xte.shape[0]}, batch {a.batch}, "
          f"Adam lr {a.lr} wd {a.weight_decay}, seed {a.seed}", flush=True)
    acc = 0.0
    for e in range(a.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=g)
        t0 = time.perf_counter()
        lsum, correct = 0.0, 0
        for i in range(0, xtr.shape[0], a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            out = model(xb)
            loss = nn.functional.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            lsum += loss.item() * xb.shape[0]
            correct += (out.argmax(1) == yb).sum().item()
        dt = time.perf_counter() - t0
        tl, acc = evaluate(model, xte, yte)
        n = xtr.shape[0]
        print(f"epoch {e + 1}/{a.epochs}  loss {lsum / n:.4f}  train_acc {correct / n:.4f}  test_loss {tl:.4f}  "
              f"test_acc {acc:.4f}  {n / dt:.1f} img/s  {dt:.1f} s", flush=True)
    if a.save:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, a.save, metadata={"format": "pt"})
    print(f"final test_acc {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
