#!/usr/bin/python3
"""Reference tensors for fke's masked multi-label BCE (src/nn/bce.h), from
PyTorch's binary_cross_entropy_with_logits. Writes tests/ref/bce.h5, which
tests/test_bce.c compares against (the C test needs no Python).

Cases (each a group): "plain" (no pos_weight, a quarter of the labels
unknown), "pos_weight" (a weight per output), "large" (logits up to +-40,
where a naive log(sigmoid) would overflow). Per case: logits (N, M) float32,
labels (N, M) int32 (1, 0, -1 unknown), pos_weight (M) float32 (all ones for
"plain" and "large": written, compared as given), loss (the mean over the
known labels) and grad (d loss / d logits), both float64.

    /usr/bin/python3 tools/torch_bce_ref.py      (Debian: python3-torch, python3-h5py)
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as Fn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref", "bce.h5")


def case(g, N, M, scale, weighted):
    z = (torch.rand(N, M, generator=g, dtype=torch.float64) * 2 - 1) * scale
    z = z.float().double()  # the C side gets float32 logits
    y = torch.randint(0, 2, (N, M), generator=g)
    y[torch.rand(N, M, generator=g) < 0.25] = -1
    pw = (torch.rand(M, generator=g, dtype=torch.float64) * 3.5 + 0.5).float().double() \
        if weighted else torch.ones(M, dtype=torch.float64)
    z.requires_grad_(True)
    mask = (y >= 0).double()
    t = y.clamp(min=0).double()
    per = Fn.binary_cross_entropy_with_logits(z, t, pos_weight=pw, reduction="none")
    loss = (per * mask).sum() / mask.sum()
    loss.backward()
    return z.detach(), y, pw, loss.detach(), z.grad.detach()


def main():
    g = torch.Generator().manual_seed(13)
    cases = {"plain": (9, 7, 4.0, False), "pos_weight": (9, 7, 4.0, True),
             "large": (5, 6, 40.0, True)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT + ".tmp", "w") as f:
        for name, (N, M, scale, w) in cases.items():
            z, y, pw, loss, grad = case(g, N, M, scale, w)
            f[f"{name}/logits"] = z.numpy().astype(np.float32)
            f[f"{name}/labels"] = y.numpy().astype(np.int32)
            f[f"{name}/pos_weight"] = pw.numpy().astype(np.float32)
            f[f"{name}/loss"] = np.float64(loss.item())
            f[f"{name}/grad"] = grad.numpy()
            print(f"{name}: loss {loss.item():.9f}")
    os.replace(OUT + ".tmp", OUT)
    print(OUT)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
