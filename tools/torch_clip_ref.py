#!/usr/bin/python3
"""Reference tensors for fke's contrastive and transformer operations
(tests/test_clip_torch.c), from PyTorch 1.13 (Debian's python3-torch).

Writes tests/ref/clip_ops.h5 (attributes format "fke-ref", version 1). Each
operation is one group; an operation with a tensor output y is given a
random weight r and the loss L = sum(y * r); a scalar loss is its own L.

  /layernorm   x (6,10) weight (10) bias (10) r -> y, grad/{x,weight,bias}
               nn.LayerNorm(10, eps=1e-5)
  /gelu        x (5,9) r -> y, grad/x                       nn.GELU() (exact erf form)
  /quick_gelu  x (5,9) r -> y, grad/x, loss (1) = sum(y * r)
               QuickGELU, x * torch.sigmoid(1.702 * x) (OpenAI's clip/model.py)
  /mha         x (2,5,8) in_proj_weight (24,8) in_proj_bias (24)
               out_proj.weight (8,8) out_proj.bias (8) r -> y, grad/*
               nn.MultiheadAttention(8, 2, batch_first=True), self-attention
  /clip_head   img_emb (6,5) txt_emb (6,5) logit_scale (1) -> logits (6,6),
               loss (1), grad/{img_emb,txt_emb,logit_scale}
               CLIP: F.normalize both, logit_scale.exp() * img @ txt.T,
               (CE(logits, arange) + CE(logits.T, arange)) / 2
  /vit         attributes img, patch, width, depth, heads, mlp, out_dim;
               input/img (2,3,16,16), params/<name> (CLIP's VisionTransformer
               state_dict names under visual.), r (2,out_dim) -> output/y,
               grad/<name>
  /vit_mean    the same sizes, the patch tokens' mean (fke's vit_pool mean)
  /vit_quick   the same sizes, QuickGELU in every block's MLP (fke's vit_act
               quick_gelu), and loss (1) = sum(y * r)

The ViT is OpenAI CLIP's VisionTransformer (conv1 without bias,
class_embedding, positional_embedding, ln_pre, pre-norm
ResidualAttentionBlocks, ln_post on the class token, proj), written here
in the same form, with exact GELU in the MLP as fke's default, or, in
/vit_quick, the QuickGELU (x * sigmoid(1.702 x)) OpenAI's released weights
were trained with (docs/clip.md). The groups are drawn in the order above
from fixed seeds, so adding one at the end leaves the others as they were.

  /usr/bin/python3 tools/torch_clip_ref.py

Needs python3-torch and python3-h5py; not part of CI (the C test reads the
HDF5 file).
"""
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "ref", "clip_ops.h5")


class QuickGELU(nn.Module):
    """OpenAI's clip/model.py QuickGELU (fke's vit_act quick_gelu)."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mlp, act="gelu"):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, mlp)),
                                              ("gelu", QuickGELU() if act == "quick_gelu"
                                               else nn.GELU()),
                                              ("c_proj", nn.Linear(mlp, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img, patch, width, depth, heads, mlp, out_dim, pool="cls", act="gelu"):
        super().__init__()
        self.pool = pool
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((img // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(
            *[ResidualAttentionBlock(width, heads, mlp, act) for _ in range(depth)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

    def forward(self, x):
        x = self.conv1(x)                                   # (B, width, g, g)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        x = self.transformer.resblocks(x)
        if self.pool == "mean":  # fke's vit_pool mean: the patch tokens' mean
            return self.ln_post(x[:, 1:, :].mean(dim=1)) @ self.proj
        return self.ln_post(x[:, 0, :]) @ self.proj


def jitter(module, g):
    """Moves LayerNorm and bias parameters off their 1/0 initial values so
    that their gradients are tested on general values."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "ln" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=g))


def main():
    import h5py
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    torch.set_default_dtype(torch.float64)   # the reference in double, stored as float32
    groups = {}

    def op_with_r(name, module, inputs, extra_params=True):
        xs = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = module(*xs.values())
        r = torch.rand(y.shape, generator=g) * 2 - 1
        (y * r).sum().backward()
        d = {k: v.detach() for k, v in xs.items()}
        d["r"], d["y"] = r, y.detach()
        for k, v in xs.items():
            d["grad/" + k] = v.grad
        if extra_params:
            for k, p in module.named_parameters():
                d[k] = p.detach()
                d["grad/" + k] = p.grad
        groups[name] = d

    ln = nn.LayerNorm(10, eps=1e-5)
    jitter(ln, g)
    op_with_r("layernorm", ln, {"x": torch.randn(6, 10, generator=g) * 2 + 0.5})
    op_with_r("gelu", nn.GELU(), {"x": torch.randn(5, 9, generator=g) * 2}, False)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    jitter(mha, g)
    op_with_r("mha", lambda x: mha(x, x, x, need_weights=False)[0],
              {"x": torch.randn(2, 5, 8, generator=g)}, False)
    for k, p in mha.named_parameters():
        groups["mha"][k] = p.detach()
        groups["mha"]["grad/" + k] = p.grad

    img = torch.randn(6, 5, generator=g).requires_grad_(True)
    txt = torch.randn(6, 5, generator=g).requires_grad_(True)
    ls = torch.tensor([np.log(1 / 0.07)]).requires_grad_(True)
    logits = ls.exp() * Fn.normalize(img, dim=1) @ Fn.normalize(txt, dim=1).t()
    lab = torch.arange(6)
    loss = (Fn.cross_entropy(logits, lab) + Fn.cross_entropy(logits.t(), lab)) / 2
    loss.backward()
    groups["clip_head"] = {"img_emb": img.detach(), "txt_emb": txt.detach(),
                           "logit_scale": ls.detach(), "logits": logits.detach(),
                           "loss": loss.detach().reshape(1), "grad/img_emb": img.grad,
                           "grad/txt_emb": txt.grad, "grad/logit_scale": ls.grad}

    cfg = dict(img=16, patch=4, width=16, depth=2, heads=4, mlp=64, out_dim=12)
    vit = VisionTransformer(**cfg)
    jitter(vit, g)
    x = torch.randn(2, 3, cfg["img"], cfg["img"], generator=g)
    y = vit(x)
    r = torch.rand(y.shape, generator=g) * 2 - 1
    (y * r).sum().backward()
    d = {"input/img": x, "r": r, "output/y": y.detach()}
    for k, p in vit.named_parameters():
        d["params/visual." + k] = p.detach()
        d["grad/visual." + k] = p.grad
    groups["vit"] = d

    vm = VisionTransformer(**cfg, pool="mean")  # the same sizes, mean pooling (vit_pool mean)
    jitter(vm, g)
    x = torch.randn(2, 3, cfg["img"], cfg["img"], generator=g)
    y = vm(x)
    r = torch.rand(y.shape, generator=g) * 2 - 1
    (y * r).sum().backward()
    d = {"input/img": x, "r": r, "output/y": y.detach()}
    for k, p in vm.named_parameters():
        d["params/visual." + k] = p.detach()
        d["grad/visual." + k] = p.grad
    groups["vit_mean"] = d

    # appended after every older group, so that their draws stay as they were
    op_with_r("quick_gelu", QuickGELU(), {"x": torch.randn(5, 9, generator=g) * 2}, False)
    groups["quick_gelu"]["loss"] = (groups["quick_gelu"]["y"] * groups["quick_gelu"]["r"]).sum().reshape(1)
    vq = VisionTransformer(**cfg, act="quick_gelu")  # the same sizes, QuickGELU (vit_act quick_gelu)
    jitter(vq, g)
    x = torch.randn(2, 3, cfg["img"], cfg["img"], generator=g)
    y = vq(x)
    r = torch.rand(y.shape, generator=g) * 2 - 1
    loss = (y * r).sum()
    loss.backward()
    d = {"input/img": x, "r": r, "output/y": y.detach(), "loss": loss.detach().reshape(1)}
    for k, p in vq.named_parameters():
        d["params/visual." + k] = p.detach()
        d["grad/visual." + k] = p.grad
    groups["vit_quick"] = d

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT + ".tmp", "w", track_order=True) as f:
        f.attrs["format"] = np.bytes_("fke-ref")
        f.attrs["version"] = np.int32(1)
        for gname, d in groups.items():
            grp = f.create_group(gname)
            for k, v in d.items():
                grp.create_dataset(k, data=v.numpy().astype(np.float32))
        for k, v in cfg.items():
            f["vit"].attrs[k] = np.int32(v)
            f["vit_mean"].attrs[k] = np.int32(v)
            f["vit_quick"].attrs[k] = np.int32(v)
    os.replace(OUT + ".tmp", OUT)
    print("wrote", OUT, "vit params:", sum(p.numel() for p in vit.parameters()))


if __name__ == "__main__":
    main()
