#!/usr/bin/env python3
# A synthetic CIFAR-10 binary folder for the end-to-end tests of lal_cifar (class c has mean brightness 20 c: learnable, deterministic).
import os
import random


def make_cifar(d, per_batch=100, n_test=400, seed=7):
    """Writes data_batch_1..5.bin (per_batch images each) and test_batch.bin (n_test) into d."""
    rng = random.Random(seed)
    os.makedirs(d)
    for name, n in [("data_batch_%d.bin" % i, per_batch) for i in range(1, 6)] + [("test_batch.bin", n_test)]:
        out = bytearray()
        for _ in range(n):
            c = rng.randrange(10)
            out.append(c)
            out += bytes(min(255, max(0, 20 * c + rng.randrange(-40, 40))) for _ in range(3072))
        with open(os.path.join(d, name), "wb") as f:
            f.write(out)
