#!/usr/bin/python3
"""Task classify against PyTorch, step by step: the same initial weights
(torch_fmnist.py's Net, converted by tools/torch_to_fke.py), the same 64
Fashion-MNIST images as one full batch, SGD lr 0.05 momentum 0.9, N steps in
both; prints the two loss curves and the largest difference of the batch-norm
running statistics at the end. Needs python3-torch and python3-h5py; not
part of CI.

  /usr/bin/python3 tools/torch_classify_check.py [--steps 5] [--fke build/fke]
"""
import argparse, json, os, subprocess, tempfile

import h5py
import numpy as np
import torch
import torch.nn as nn


class Net(nn.Module):  # tools/torch_fmnist.py's network
    def __init__(self, in_ch=1, chans=(32, 64, 128), n_cls=10):
        super().__init__()
        layers, c = [], in_ch
        for o in chans:
            layers += [nn.Conv2d(c, o, 3, padding=1, bias=False), nn.BatchNorm2d(o),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c = o
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c, n_cls)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--fke", default="build/fke")
    ap.add_argument("--data", default="data/fmnist-train.h5")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fke_cls_")
    sub, pt, h5, run = (os.path.join(tmp, n) for n in ("sub64.h5", "net.pt", "net.h5", "run"))
    subprocess.run([a.fke, "data", "corrupt", a.data, sub, "--noise", "symmetric", "--rate", "0",
                    "--limit", "64"], check=True, stdout=subprocess.DEVNULL)
    torch.manual_seed(0)
    m = Net()
    torch.save({("cnn." + k if k.startswith("body") else k): v for k, v in m.state_dict().items()}, pt)
    subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "torch_to_fke.py"), pt, h5],
                   check=True, stdout=subprocess.DEVNULL)
    with h5py.File(sub, "r") as f:
        x = f["images"][:].astype(np.float32).reshape(-1, 1, 28, 28)
        y = f["labels"][:].astype(np.int64)
    mean, std = x.mean() / 255.0, (x / 255.0).std()   # fke normalises with its training set's
    x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))   # zeros before normalising, as fke does
    X, Y = torch.from_numpy((x / 255.0 - mean) / std).float(), torch.from_numpy(y)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    m.train()
    tl = []
    for _ in range(a.steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(X), Y)
        loss.backward()
        opt.step()
        tl.append(loss.item())
    subprocess.run([a.fke, "train", "configs/fmnist.json", "--quiet", "--set", f"train_data={sub}",
                    "--set", "test_data=", "--set", f"init_from={h5}", "--set", f"steps={a.steps}",
                    "--set", "log_every=1", "--set", "threads=1", "--set", f"out_dir={run}"], check=True)
    fl = [json.loads(l)["loss"] for l in open(os.path.join(run, "metrics.jsonl")) if l.startswith('{"step"')]
    print("step  torch loss  fke loss  |diff|")
    for i, (t, k) in enumerate(zip(tl, fl)):
        print(f"{i + 1:4d}  {t:.6f}  {k:.6f}  {abs(t - k):.2e}")
    with h5py.File(os.path.join(run, "last.h5"), "r") as g:
        worst = max(float(np.abs(v.numpy() - g["params"]["cnn." + k][:]).max() / (np.abs(v.numpy()).max() + 1e-12))
                    for k, v in m.state_dict().items() if "running" in k)
    print(f"batch-norm running statistics after {a.steps} steps: largest relative difference {worst:.2e}")


if __name__ == "__main__":
    main()
