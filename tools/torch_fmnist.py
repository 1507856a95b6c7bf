#!/usr/bin/python3
"""Fashion-MNIST anchor: the fke-small CNN trunk trained with PyTorch on CPU.

The PyTorch side of experiments/fmnist_vs_torch.sh, the counterpart of
`fke train configs/fmnist.json` (task classify of docs/model.md, same
recipe). Needs Debian's python3-torch; not part of CI.

  /usr/bin/python3 tools/torch_fmnist.py --threads 2 --epochs 3

Data: the IDX .gz files in /usr/share/datasets/fashion-mnist/ (Debian's
dataset-fashion-mnist, which tools/deps.sh installs), read with
gzip + numpy.  Images (1x28x28 uint8) are zero-padded to 1x32x32 (2 pixels
each side; 0 is the background value), scaled to [0,1] and normalised with
the training-set mean/std (computed on the unpadded 28x28 images).
Model: 3 x [conv3x3 (no bias) -> BN -> ReLU -> maxpool2], 32/64/128
channels (32 -> 16 -> 8 -> 4), global average pool, linear 128 -> 10: the
small CNN of tools/torch_ref.py (SmallCNN) with a linear classifier.
Training: SGD, momentum 0.9, lr 0.05 constant, no weight decay, batch 64,
reshuffled every epoch (last partial batch of 32 kept: 938 steps/epoch),
no augmentation.  Test: eval mode, no grad, batches of 64 (--eval-batch).
Thread count is applied to OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
torch.set_num_threads (env set before `import torch`).
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--blas-threads", type=int, default=None,
                help="OPENBLAS_NUM_THREADS (default: = --threads)")
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--lr", type=float, default=0.05)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--limit", type=int, default=0, help="use only N training images (test runs)")
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
ap.add_argument("--eval-batch", type=int, default=64)
ap.add_argument("--json", default=None, help="append one JSON line here")
ARGS = ap.parse_args()
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads or ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as Fn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import SmallCNN  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: not unsigned-byte IDX (magic {magic:#x})"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def _busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


class Foreign:
    """CPU (in cores) used by other processes during the `with` block."""

    def __enter__(self):
        self.b0, self.p0, self.w0 = _busy_s(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.w0
        self.cores = max(0.0, (_busy_s() - self.b0) - (time.process_time() - self.p0)) / wall


class Net(nn.Module):
    """SmallCNN's body (parameter names body.0.weight, ...) + fc; fke's task
    classify names the same tensors cnn.body.* and fc.*."""

    def __init__(self, in_ch=1, chans=(32, 64, 128), n_cls=10):
        super().__init__()
        self.body = SmallCNN(in_ch, chans).body
        self.fc = nn.Linear(chans[-1], n_cls)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3)))


def main():
    a = ARGS
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    xtr = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    mean = float(xtr.mean()) / 255.0
    std = float((xtr / 255.0).std())

    def prep(x):
        x = np.pad(x, ((0, 0), (2, 2), (2, 2)))                    # 28 -> 32, zeros
        x = (x.astype(np.float32) / 255.0 - mean) / std
        return torch.from_numpy(np.ascontiguousarray(x[:, None]))  # N x 1 x 32 x 32

    Xtr, Ytr = prep(xtr), torch.from_numpy(ytr.astype(np.int64))
    Xte, Yte = prep(xte), torch.from_numpy(yte.astype(np.int64))
    t_load = time.perf_counter() - t0
    n = Xtr.shape[0]
    print(f"# train {tuple(Xtr.shape)} test {tuple(Xte.shape)} mean {mean:.4f} std {std:.4f} "
          f"load {t_load:.1f}s  threads {a.threads} (OPENBLAS_NUM_THREADS "
          f"{os.environ['OPENBLAS_NUM_THREADS']})  OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    print(f"# params {sum(q.numel() for q in model.parameters()):,}  SGD momentum 0.9 "
          f"lr {a.lr} batch {a.batch}")
    g = torch.Generator().manual_seed(a.seed)
    epochs = []
    t_all = time.perf_counter()
    for ep in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=g)
        loss_sum, correct, steps = 0.0, 0, 0
        step_times = []
        with Foreign() as fg:
            t_ep = time.perf_counter()
            for i in range(0, n, a.batch):
                ts = time.perf_counter()
                idx = perm[i:i + a.batch]
                xb, yb = Xtr[idx], Ytr[idx]
                opt.zero_grad(set_to_none=True)
                out = model(xb)
                loss = Fn.cross_entropy(out, yb)
                loss.backward()
                opt.step()
                loss_sum += float(loss) * len(idx)
                correct += int((out.argmax(1) == yb).sum())
                steps += 1
                step_times.append(time.perf_counter() - ts)
            t_train = time.perf_counter() - t_ep
        model.eval()
        t_ev = time.perf_counter()
        with torch.no_grad():
            pred = torch.cat([model(Xte[j:j + a.eval_batch]).argmax(1)
                              for j in range(0, len(Xte), a.eval_batch)])
        t_eval = time.perf_counter() - t_ev
        acc = float((pred == Yte).float().mean())
        e = dict(epoch=ep, train_s=t_train, img_per_s=n / t_train, steps=steps,
                 step_ms_median=1e3 * statistics.median(step_times),
                 train_loss=loss_sum / n, train_acc=correct / n, test_acc=acc,
                 eval_s=t_eval, eval_img_per_s=len(Xte) / t_eval, other_load=fg.cores)
        epochs.append(e)
        print(f"epoch {ep}: train {t_train:7.1f} s  {n / t_train:7.0f} img/s  "
              f"(median step {e['step_ms_median']:.1f} ms)  loss {e['train_loss']:.4f}  "
              f"train acc {e['train_acc']:.4f}  test acc {acc:.4f}  "
              f"(eval {t_eval:.1f} s, {len(Xte) / t_eval:.0f} img/s)  "
              f"[other load {fg.cores:.2f} cores]", flush=True)
    total = time.perf_counter() - t_all
    print(f"# total {total:.1f} s for {a.epochs} epochs (+ {t_load:.1f} s data load)")
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(dict(threads=a.threads,
                                    blas_threads=int(os.environ["OPENBLAS_NUM_THREADS"]),
                                    epochs=epochs, total_s=total,
                                    load_s=t_load, lr=a.lr, batch=a.batch,
                                    openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
                                    time=time.strftime("%Y-%m-%d %H:%M:%S"))) + "\n")


if __name__ == "__main__":
    sys.exit(main())
