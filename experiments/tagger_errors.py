#!/usr/bin/python3
"""Where two sets of runs differ in their test errors, split by the machine
tagger's confusions: for every task, the share of test labels predicted as a
value the tagger often gives in place of the true one (T[true, pred] >= 0.10,
off the diagonal: "tagger-direction" errors), the share of the other errors,
of which those in the reverse direction (T[pred, true] >= 0.10: the true
value is one the tagger often turns into the predicted one's), and the
accuracy; each as the mean over seeds of B - A, with the std of the
per-seed difference (runs of one seed share initialisation and batch order).

This is what forward correction is for: plain cross-entropy on machine labels
learns the tagger's bias, which shows as extra errors in the tagger's
direction; forward correction should remove them, and where it moves a
decision too far back it makes reverse-direction ones.

  /usr/bin/python3 experiments/tagger_errors.py T.json A_DIR... -- B_DIR... [--out OUT.md]

T.json is the transition file of the training data (fke data import fashionke
--t-out, or the true T of a synthetic set); each run folder holds the
confusion_<task>.csv that `fke eval --out DIR` writes. A and B are paired in
the order given (seed i of A with seed i of B). Needs numpy.
"""
import csv
import json
import sys

import numpy as np

STRONG = 0.10


def confusion(path):
    try:
        rows = list(csv.reader(open(path)))
        C = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
    except (OSError, ValueError) as ex:
        sys.exit(f"tagger_errors.py: {path}: {ex}")
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.sum() <= 0:
        sys.exit(f"tagger_errors.py: {path}: not a square confusion matrix with counts")
    return C


def shares(C, strong):
    """tagger-direction, other, reverse-direction errors and accuracy, % of C's labels"""
    off = C.copy()
    np.fill_diagonal(off, 0)
    n = C.sum()
    reverse = strong.T & ~strong
    return np.array([off[strong].sum(), off[~strong].sum(), off[reverse].sum(), np.trace(C)]) / n * 100


def main(argv):
    out = None
    if "--out" in argv:
        i = argv.index("--out")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 4 or "--" not in argv[1:]:
        sys.exit(__doc__)
    k = argv.index("--", 1)
    tfile, A, B = argv[0], argv[1:k], argv[k + 1:]
    if len(A) != len(B) or not A:
        sys.exit(f"tagger_errors.py: {len(A)} runs in A against {len(B)} in B (pair them by seed)")
    try:
        tasks = json.load(open(tfile))["tasks"]
    except (OSError, ValueError, KeyError) as ex:
        sys.exit(f"tagger_errors.py: {tfile}: not an fke transition file ({ex})")
    lines = [f"B - A, points of the test labels, mean ± std over {len(A)} paired seeds; "
             f"tagger-direction pairs: T[true, pred] >= {STRONG:.2f}",
             "",
             "| task | pairs | A's tagger-direction errors | B - A, tagger-direction | B - A, other errors | "
             "(of which reverse-direction) | B - A, accuracy |",
             "|---|---|---|---|---|---|---|"]
    for t in tasks:
        T = np.array(t["T"], float)
        strong = T >= STRONG
        np.fill_diagonal(strong, False)
        name = t["name"]
        per = []
        for runs in (A, B):
            Cs = [(d, confusion(f"{d}/confusion_{name}.csv")) for d in runs]
            for d, C in Cs:
                if C.shape != T.shape:
                    sys.exit(f"tagger_errors.py: {d}/confusion_{name}.csv is {C.shape[0]}x"
                             f"{C.shape[1]}, {tfile}'s {name} is {T.shape[0]}x{T.shape[1]}")
            per.append(np.array([shares(C, strong) for _, C in Cs]))
        sa, sb = per
        d = sb - sa
        sd = d.std(0, ddof=1) if len(A) > 1 else np.zeros(4)
        cells = [f"{m:+.2f} ± {s:.2f}" for m, s in zip(d.mean(0), sd)]
        lines.append(f"| {name} | {int(strong.sum())} | {sa[:, 0].mean():.2f} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if out:
        open(out, "w").write(text)
    print(text, end="")


if __name__ == "__main__":
    main(sys.argv[1:])
