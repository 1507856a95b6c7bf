#!/usr/bin/python3
"""Runs a model that tools/fke_to_torch.py wrote, on the inputs of a case file
of tests/test_onnx.c (the format tools/ort_run.js reads), and writes the
outputs' float32 values one after the other to the case's "out" file.

  /usr/bin/python3 tools/torch_run.py CASE.json          # CASE's model: OUT.ts.pt (TorchScript)
  /usr/bin/python3 tools/torch_run.py --net CASE.json    # CASE's model: OUT.pt, run through
                                                         # tools/torch_ref.py's Net (eval mode)
  /usr/bin/python3 tools/torch_run.py A.json --net B.json C.json   # several cases, one process
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def inputs(c):
    raw = open(c["in"], "rb").read()
    x = {}
    for i in c["inputs"]:
        dt = np.int64 if i["type"] == "int64" else np.float32
        n = int(np.prod(i["dims"]))
        x[i["name"]] = torch.from_numpy(np.frombuffer(raw, dt, n, i["offset"]).reshape(i["dims"]).copy())
    return x


def run_net(c, x):
    import torch_ref
    stem = c["model"][:-3] if c["model"].endswith(".pt") else c["model"]
    cfg = json.load(open(stem + ".json"))["config"]
    net = torch_ref.Net(cfg)
    net.load_state_dict(torch.load(c["model"]), strict=False)
    net.eval()
    ng = x["garments"]
    tok = x.get("tokens", torch.zeros(ng.shape[0], cfg["L"], dtype=torch.int64))
    occ, cat, att = net(x["image"], x["crops"], ng, tok)
    B, G = x["crops"].shape[:2]
    gmask = torch.arange(G)[None, :] < ng[:, None]
    outs = [Fn.softmax(occ, 1)]
    for z in [cat] + att:
        full = torch.zeros(B, G, z.shape[1])
        full[gmask] = Fn.softmax(z, 1)
        outs.append(full)
    return outs


def run_case(path, net):
    c = json.load(open(path))
    x = inputs(c)
    with torch.no_grad():
        if net:
            outs = run_net(c, x)
        else:
            m = torch.jit.load(c["model"])
            tok = x.get("tokens", torch.zeros(x["garments"].shape[0], 1, dtype=torch.int64))
            outs = m(x["image"], x["crops"], x["garments"], tok)
    with open(c["out"], "wb") as f:
        for o in outs:
            f.write(o.detach().numpy().astype(np.float32).tobytes())
    print(f"torch {torch.__version__}: {c['model']} ({'Net' if net else 'TorchScript'})")


def main():
    torch.set_num_threads(1)
    net = False
    for a in sys.argv[1:]:
        if a == "--net":
            net = True
            continue
        run_case(a, net)
        net = False


if __name__ == "__main__":
    main()
