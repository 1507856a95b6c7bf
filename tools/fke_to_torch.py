#!/usr/bin/python3
"""Converts an fke checkpoint into PyTorch: the project's implementation of
the network (tools/torch_ref.py's Net, dropout layers kept so that it can be
fine-tuned) with the checkpoint's weights, and a TorchScript module for
inference.

  /usr/bin/python3 tools/fke_to_torch.py CKPT.h5 OUT.pt

writes
  OUT.pt       the state_dict of Net(config) (torch.save); load it with
                 c = json.load(open("OUT.json"))["config"]
                 net = torch_ref.Net(c); net.load_state_dict(torch.load("OUT.pt"), strict=False)
               (strict=False: PyTorch's num_batches_tracked buffers are not in fke)
  OUT.json     {"config": the fke config, "names": labels and vocabulary when the
               checkpoint has /names, "preprocessing": sides and normalisation}
  OUT.ts.pt    TorchScript (torch.jit.load): forward(image, crops, garments, tokens)
               -> (occasion (P, n_occ), category (P, G, n_cat), attribute_0, ...
               (P, G, n_val[k])) probabilities, the rows of slots past a post's
               garments 0 -- the inputs and outputs of `fke export --format onnx`
               (tokens is ignored when the model's text branch is off)

Names: fke's parameter names are Net's state_dict names (docs/model.md,
"Parameter names"), in both directions, so the mapping is the identity; the
crop pass's batch-norm statistics are the extra buffers
<bn>.running_mean_crop and <bn>.running_var_crop (torch_ref.add_crop_stats).
To use the trunk as a stock torchvision ResNet-18 (fke-paper), take the
cnn.* entries, drop the *_crop buffers and the cnn. prefix:
  sd = {k[4:]: v for k, v in torch.load("OUT.pt").items()
        if k.startswith("cnn.") and not k.endswith("_crop")}
  torchvision.models.resnet18().load_state_dict(sd, strict=False)   # only fc.* missing
(tools/torch_to_fke.py goes the other way.)

The TorchScript module runs the CNN on every crop slot, the whole image and
the crops each with its own batch-norm statistics (two copies of the trunk),
and handles the garment counts without packing: the forward direction of
Bi-LSTM-1 reads the right-padded sequence, the backward direction a
left-aligned copy (valid garments last), so that both see only the valid
garments before the outputs that are kept. tests/test_onnx.c compares both
outputs, Net's and the TorchScript's, with fke's.
"""
import copy
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402


def read_checkpoint(path):
    """The config dict, the /params tensors and the /names of an fke checkpoint."""
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        if fmt != "fke-checkpoint":
            raise SystemExit(f"{path}: not an fke checkpoint (format {fmt!r})")
        if "config" not in f.attrs:
            raise SystemExit(f"{path}: a weights-only file (no config attribute, e.g. made by "
                             "tools/torch_to_fke.py); it has no network to convert")
        cfg = f.attrs["config"]
        c = json.loads(cfg.decode() if isinstance(cfg, bytes) else str(cfg))
        params = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in f["params"].items()}
        names = {}
        if "names" in f:
            g = f["names"]
            for k in g:
                names[k] = [s.decode() if isinstance(s, bytes) else str(s) for s in g[k][()]]
            for k, v in g.attrs.items():
                names[k] = v.item() if hasattr(v, "item") else v
    if c.get("task", "fke") != "fke":
        raise SystemExit(f"{path}: a model of task {c.get('task')}; this converts the post model (task fke)")
    return c, params, names


def build_net(c, params):
    """Net(c) holding the checkpoint's tensors; refuses any name mismatch."""
    net = torch_ref.Net(c)
    missing, unexpected = net.load_state_dict(params, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"names differ between the checkpoint and Net: missing {missing}, "
                         f"unexpected {unexpected}")
    return net


class Infer(nn.Module):
    """The inference graph of Net with fixed shapes and no data-dependent
    control flow (traceable), returning probabilities in the padded layout."""

    def __init__(self, net):
        super().__init__()
        c = net.c
        self.G, self.H, self.H2 = c["G"], c["H"], c["H2"]
        self.vis, self.task, self.text = net.vis, net.task, bool(c["text"])
        self.gru = c["cell"] == "gru"
        self.cnn_img = copy.deepcopy(net.cnn)
        self.cnn_crop = copy.deepcopy(net.cnn)
        for m in self.cnn_crop.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(m.running_mean_crop)
                m.running_var.copy_(m.running_var_crop)
        self.net = net

    def forward(self, img, crops, garments, tokens):
        n = self.net
        B, G = crops.shape[0], self.G
        slots = torch.arange(G).unsqueeze(0)                       # (1, G)
        ng = garments.long().unsqueeze(1)                          # (B, 1)
        mask = (slots < ng).float()                                # (B, G)
        f_img = self.cnn_img(img)                                  # (B, F)
        f = self.cnn_crop(crops.flatten(0, 1))                     # (BG, F)
        if self.vis:
            H = self.H
            f_g = f.view(B, G, -1) * mask.unsqueeze(2)             # padding features 0
            L = ng.clamp(min=1)                                    # (B, 1) sequence lengths
            h0 = n.W0(f_img) if hasattr(n, "W0") else f_img
            h0 = h0.unsqueeze(0).expand(2, B, H).contiguous()
            hx = h0 if self.gru else (h0, torch.zeros_like(h0))
            out_f, _ = n.rnn1(f_g, hx)                             # forward half is right
            # left-aligned copy: slot t holds garment t - (G - L); the backward
            # direction then reads the valid garments first
            src = (slots - (G - L)).clamp(min=0)                   # (B, G)
            left = torch.gather(f_g, 1, src.unsqueeze(2).expand(B, G, f_g.shape[2]))
            left = left * (slots >= G - L).float().unsqueeze(2)
            out_b, _ = n.rnn1(left, hx)
            back = (slots + (G - L)).clamp(max=G - 1)              # garment t sits at t + G - L
            ob = torch.gather(out_b[:, :, H:], 1, back.unsqueeze(2).expand(B, G, H))
            c = torch.cat([out_f[:, :, :H], ob], 2).flatten(0, 1)  # (BG, 2H)
            last = (L - 1).unsqueeze(2).expand(B, 1, H)
            h_fwd = torch.gather(out_f[:, :, :H], 1, last).squeeze(1)
            h_bwd = ob[:, 0]                                       # backward state at garment 0
            s = torch.cat([h_fwd, h_bwd, f_img], 1)
        else:
            s, c = f_img, f
        if self.text:
            s = torch.cat([s, n.text(tokens.long())], 1)
        m = mask.flatten().unsqueeze(1)                            # (BG, 1)
        occ = Fn.softmax(n.occ(s), 1)
        a_cat = n.Wcat(c)
        cat = (Fn.softmax(n.cat_head(a_cat), 1) * m).view(B, G, -1)
        a = [w(c) for w in n.Wk]
        if self.task:
            u, _ = n.rnn2(torch.stack(a + [a_cat], 1))
            u = [u[:, k] for k in range(len(a))]
        else:
            u = a
        att = [(Fn.softmax(h(u[k]), 1) * m).view(B, G, -1) for k, h in enumerate(n.att_heads)]
        return tuple([occ, cat] + att)


def example_inputs(c, B=3):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, 3, c["img"], c["img"], generator=g),
            torch.randn(B, c["G"], 3, c["crop"], c["crop"], generator=g),
            torch.arange(B, dtype=torch.int64) % (c["G"] + 1),
            torch.randint(0, c["V"], (B, c["L"]), generator=g))


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    src, out = sys.argv[1], sys.argv[2]
    if not os.path.exists(src):
        sys.exit(f"{src}: no such file")
    c, params, names = read_checkpoint(src)
    torch.set_num_threads(1)
    net = build_net(c, params).eval()
    stem = out[:-3] if out.endswith(".pt") else out
    torch.save(net.state_dict(), out)
    side = {k: v for k, v in names.items() if k in ("img", "crop", "pixel_mean", "pixel_std")}
    with open(stem + ".json", "w") as f:
        json.dump({"config": c, "names": {k: v for k, v in names.items() if k not in side},
                   "preprocessing": side or {"img": c["img"], "crop": c["crop"],
                                             "pixel_mean": 0.5, "pixel_std": 0.25}}, f)
    with torch.no_grad():
        inf = Infer(net).eval()
        ts = torch.jit.trace(inf, example_inputs(c), check_trace=False)
        # the trace must not have frozen the garment counts or the batch size
        x = example_inputs(c, B=5)
        x = (x[0], x[1], torch.tensor([5, 1, 0, 3, 2]).clamp(max=c["G"]), x[3])
        for a, b in zip(ts(*x), inf(*x)):
            if (a - b).abs().max() > 1e-6:
                sys.exit("the traced module differs from the eager one on other inputs")
    ts.save(stem + ".ts.pt")
    n = sum(p.numel() for p in net.parameters())
    drops = [m.p for m in net.modules() if isinstance(m, nn.Dropout)]
    print(f"{out}: state_dict of {len(params)} tensors ({n} parameters); {stem}.ts.pt: TorchScript; "
          f"{stem}.json: config and names; Net keeps {len(drops)} dropout layers "
          f"(p = {', '.join(sorted({f'{p:g}' for p in drops}))}) for fine-tuning")


if __name__ == "__main__":
    main()
