"""Shared by the training-speed peers (torch_train_peer.py on CPU, torch_cuda_train.py on CUDA): the torch import
that exits 3 when torch is missing, the common flags, and the timed Adam training loop of the paper CNN."""
import argparse
import os
import statistics
import sys
import time


def import_torch(tool):
    """torch, or exit 3 with a note naming tool on stderr (a peer is optional; it never fakes a number)."""
    try:
        import torch
        return torch
    except Exception as e:  # pragma: no cover - peer is optional
        print(f"{tool}: torch not importable ({e})", file=sys.stderr)
        sys.exit(3)


def train_parser(steps, runs, warmup):
    """--batches, --steps, --runs and --warmup with the given defaults."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64,128")
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--warmup", type=int, default=warmup)
    return ap


def train_rates(torch, b, a, dev=None, sync=lambda: None, finish=lambda loss: loss):
    """images/s of each of a.runs timed runs of a.steps Adam steps (lr 1e-4, wd 5e-4) of a fresh paper CNN at batch b
    on device dev, after a.warmup steps; sync() waits for the device, finish(loss) ends a step."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from paper_cnn import paper_cnn  # noqa: E402

    model = paper_cnn()
    if dev is not None:
        model = model.to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(b, 3, 32, 32) * 2 - 1
    y = torch.randint(0, 10, (b,))
    if dev is not None:
        x, y = x.to(dev), y.to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return finish(loss)

    for _ in range(a.warmup):
        step()
    sync()
    rates = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        rates.append(a.steps * b / (time.perf_counter() - t0))
    return rates


def median(rates):
    return statistics.median(rates)
