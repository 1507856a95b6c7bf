#!/usr/bin/python3
"""How much the labels of a FashionKE-synth set tell about each other, with no
image: for each attribute, the held-out accuracy of a label-only predictor
(multinomial logistic regression on one-hot labels) given

  cat        the garment's category only;
  cat+occ    and the post's occasion;
  cat+own    and the garment's other attributes (what Bi-LSTM-2, the
             dependency between the tasks of one garment, could use);
  cat+post   and the other garments' categories and attributes and the
             occasion (what Bi-LSTM-1, the garment context, could use);

plus the conditional mutual information I(attr; own other attributes |
category) in bits (plug-in estimate). The predictor is fitted on the first
half of the posts and scored on the second half; only garments where the
attribute applies count.

  /usr/bin/python3 experiments/label_dependency.py DATA.h5 [OUT.md]

DATA.h5 should hold true labels for every garment (a test or val split, or
a training split at noise ratio 0). Needs h5py, numpy and torch (PyTorch 1.13).
"""
import sys
from collections import Counter
from math import log2

import h5py
import numpy as np
import torch


def onehot(cols, sizes):
    """cols: list of int arrays (-1 = absent) -> float one-hot matrix."""
    out = []
    for c, n in zip(cols, sizes):
        m = np.zeros((len(c), n + 1), np.float32)  # last column: absent
        m[np.arange(len(c)), np.where(c < 0, n, c)] = 1
        out.append(m)
    return np.concatenate(out, 1)


def fit_score(Xtr, ytr, Xte, yte, n_cls):
    torch.manual_seed(0)
    Xtr, Xte = torch.tensor(Xtr), torch.tensor(Xte)
    ytr = torch.tensor(ytr, dtype=torch.long)
    W = torch.zeros(Xtr.shape[1], n_cls, requires_grad=True)
    b = torch.zeros(n_cls, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xtr @ W + b, ytr) + 1e-4 * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (Xte @ W + b).argmax(1).numpy()
    return float((pred == yte).mean())


def cond_mi(y, x, c):
    """I(y; x | c) in bits, plug-in, x a tuple key per sample."""
    n = len(y)
    mi = 0.0
    for cv in np.unique(c):
        s = c == cv
        ys, xs = y[s], [x[i] for i in np.nonzero(s)[0]]
        ns = len(ys)
        pxy = Counter(zip(xs, ys))
        px, py = Counter(xs), Counter(ys.tolist())
        for (xv, yv), k in pxy.items():
            mi += (k / n) * log2(k * ns / (px[xv] * py[yv]))
    return mi


def main():
    path = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else None
    f = h5py.File(path, "r")
    cat = f["labels/category_true"][:]          # (N, G)
    att = f["labels/attribute_true"][:]         # (N, G, A)
    occ = f["labels/occasion"][:]               # (N)
    ng = f["n_garments"][:]
    names = [x.decode() if isinstance(x, bytes) else x for x in f["names/attribute"][:]]
    n_cat = len(f["names/category"][:])
    n_occ = len(f["names/occasion"][:])
    N, G, A = att.shape
    n_val = [int(max(att[:, :, k].max(), 0)) + 1 for k in range(A)]
    for k in range(A):  # the value names give the real count
        key = f"names/values_{k}"
        if key in f:
            n_val[k] = len(f[key][:])
    rows = [(i, g) for i in range(N) for g in range(ng[i])]
    half = N // 2
    lines = [f"Label-only predictors on {path} ({N} posts, {len(rows)} garments; fitted on "
             f"posts 0..{half - 1}, scored on {half}..{N - 1}; accuracy in %)", "",
             "| attribute | garments | majority | cat | cat+occ | cat+own | cat+post | "
             "own - cat | I(attr; own \\| cat) bits |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k in range(A):
        sel = [(i, g) for i, g in rows if att[i, g, k] >= 0]
        if not sel:
            continue
        ii = np.array([i for i, _ in sel])
        gg = np.array([g for _, g in sel])
        y = att[ii, gg, k]
        c = cat[ii, gg]
        own = [att[ii, gg, j] for j in range(A) if j != k]
        own_n = [n_val[j] for j in range(A) if j != k]
        # the other garments of the post, by category: each category's
        # attributes (a post has at most one garment of a category here)
        post_cols, post_n = [occ[ii]], [n_occ]
        for cc in range(n_cat):
            present = np.zeros(len(ii), np.int64) - 1
            for j in range(A):
                v = np.zeros(len(ii), np.int64) - 1
                for t, (i, g) in enumerate(sel):
                    for h in range(ng[i]):
                        if h != g and cat[i, h] == cc:
                            v[t] = att[i, h, j]
                            present[t] = 0
                post_cols.append(v)
                post_n.append(n_val[j])
            post_cols.append(present)
            post_n.append(1)
        feats = {
            "cat": onehot([c], [n_cat]),
            "cat+occ": onehot([c, occ[ii]], [n_cat, n_occ]),
            "cat+own": onehot([c] + own, [n_cat] + own_n),
            "cat+post": onehot([c] + post_cols, [n_cat] + post_n),
        }
        tr, te = ii < half, ii >= half
        maj = Counter(y[tr].tolist()).most_common(1)[0][0]
        acc = {"majority": float((y[te] == maj).mean())}
        for name, X in feats.items():
            acc[name] = fit_score(X[tr], y[tr], X[te], y[te], n_val[k])
        key = [tuple(int(a[t]) for a in own) for t in range(len(y))]
        mi = cond_mi(y, key, c)
        lines.append(f"| {names[k]} | {len(y)} | {100 * acc['majority']:.1f} | {100 * acc['cat']:.1f} | "
                     f"{100 * acc['cat+occ']:.1f} | {100 * acc['cat+own']:.1f} | {100 * acc['cat+post']:.1f} | "
                     f"{100 * (acc['cat+own'] - acc['cat']):+.1f} | {mi:.3f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if out:
        with open(out, "w") as fo:
            fo.write(text)
    print(text)


if __name__ == "__main__":
    main()
