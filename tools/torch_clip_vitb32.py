#!/usr/bin/python3
"""The converter at full size: a randomly initialised OpenAI-CLIP-shaped
ViT-B/32 image tower (224 px, patch 32, width 768, 12 blocks, 12 heads,
MLP 3072, output 512; tools/torch_clip_ref.py's VisionTransformer, exact
GELU as fke's default, or with --quick-gelu OpenAI's QuickGELU as fke's
vit_act quick_gelu, the activation OpenAI's released weights need) is saved as a PyTorch state_dict under CLIP's names
(visual.*), converted by tools/torch_to_fke.py into an fke checkpoint
file, and its forward and backward on two random pictures are written as a
reference (format "fke-ref", group "vit", as tests/ref/clip_ops.h5). Then
build/tests/test_clip_torch REF.h5 CKPT.h5 loads the converted file by
name into fke's ViT and compares the output and every parameter gradient
(tolerance 1e-4 relative).

  /usr/bin/python3 tools/torch_clip_vitb32.py [--quick-gelu] [OUTDIR]   (default /tmp/fke-vitb32)
  build/tests/test_clip_torch OUTDIR/vitb32-ref.h5 OUTDIR/vitb32-visual.h5

With --quick-gelu the reference group "vit" carries the attribute
quick_gelu = 1 and test_clip_torch runs fke's blocks with QuickGELU. Exact
GELU stays the default so that the check reads as it always has; the
QuickGELU run is the one that stands for OpenAI's weights.

Not part of CI: the files are about 1 GB (88 M parameters, their
gradients, and the state_dict), too large for tests/ref. The reference is
computed in double and stored as float32.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_clip_ref import VisionTransformer, jitter  # noqa: E402


def main():
    import h5py
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="/tmp/fke-vitb32", help="folder for the files")
    ap.add_argument("--quick-gelu", action="store_true",
                    help="QuickGELU in every block (OpenAI's; fke's vit_act quick_gelu)")
    a = ap.parse_args()
    out = a.out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    torch.set_default_dtype(torch.float64)
    cfg = dict(img=224, patch=32, width=768, depth=12, heads=12, mlp=3072, out_dim=512)
    vit = VisionTransformer(**cfg, act="quick_gelu" if a.quick_gelu else "gelu")
    jitter(vit, g)
    # the weights fke gets are float32: compute the reference from those values
    with torch.no_grad():
        for p in vit.parameters():
            p.copy_(p.float().double())
    pt = os.path.join(out, "vitb32-visual.pt")
    torch.save({"visual." + k: v.float() for k, v in vit.state_dict().items()}, pt)
    ck = os.path.join(out, "vitb32-visual.h5")
    subprocess.run([sys.executable, os.path.join(HERE, "torch_to_fke.py"), pt, ck], check=True)
    x = torch.randn(2, 3, cfg["img"], cfg["img"], generator=g).float().double()
    y = vit(x)
    r = (torch.rand(y.shape, generator=g) * 2 - 1).float().double()
    (y * r).sum().backward()
    ref = os.path.join(out, "vitb32-ref.h5")
    with h5py.File(ref + ".tmp", "w", track_order=True) as f:
        f.attrs["format"] = np.bytes_("fke-ref")
        f.attrs["version"] = np.int32(1)
        grp = f.create_group("vit")
        for k, v in cfg.items():
            grp.attrs[k] = np.int32(v)
        grp.attrs["quick_gelu"] = np.int32(1 if a.quick_gelu else 0)
        grp.create_dataset("input/img", data=x.numpy().astype(np.float32))
        grp.create_dataset("r", data=r.numpy().astype(np.float32))
        grp.create_dataset("output/y", data=y.detach().numpy().astype(np.float32))
        for k, p in vit.named_parameters():
            grp.create_dataset("grad/visual." + k, data=p.grad.numpy().astype(np.float32))
    os.replace(ref + ".tmp", ref)
    print("wrote", ref, "and", ck, "- ViT-B/32 parameters:", sum(p.numel() for p in vit.parameters()),
          "QuickGELU" if a.quick_gelu else "exact GELU")


if __name__ == "__main__":
    main()
