#!/usr/bin/python3
"""Converts PyTorch weights into an fke checkpoint (HDF5) that `fke train
--set init_from=OUT.h5` starts from: tensors are matched to fke's parameter
table by name (fke uses the PyTorch state_dict names of docs/model.md's network,
see tools/torch_ref.py), tensors fke lacks are refused, tensors the file
lacks keep fke's initial values.

  # a whole fke-shaped PyTorch model (e.g. tools/torch_ref.py's Net)
  /usr/bin/python3 tools/torch_to_fke.py model_state.pt out.h5
  # an ImageNet ResNet-18 from torchvision for fke-paper's trunk
  /usr/bin/python3 tools/torch_to_fke.py resnet18.pth out.h5 --prefix cnn. --skip fc.
  /usr/bin/python3 tools/torch_to_fke.py --torchvision-resnet18 out.h5   # untrained, to test the path
  # OpenAI CLIP's visual.* tensors (docs/clip.md): train with --set vit_act=quick_gelu
  /usr/bin/python3 tools/torch_to_fke.py clip-visual.pt clip-visual.h5

The file holds tensors only, no config: the model they load into is the one
`fke train` builds from its config. OpenAI's CLIP weights were trained with
QuickGELU, so a ViT that loads them needs `--set vit_act=quick_gelu` to
give CLIP's features (the converter says so when it sees CLIP's
visual.transformer.* names).

Format written: root attributes format="fke-checkpoint", version=1; one
float32 dataset per tensor under /params/<name>. num_batches_tracked
buffers are dropped (fke's batch-norm does not count batches).
"""
import argparse
import os
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", help="a state_dict saved with torch.save (.pt/.pth)")
    ap.add_argument("out", help="the fke checkpoint to write")
    ap.add_argument("--prefix", default="", help="prepended to every name (e.g. cnn.)")
    ap.add_argument("--skip", action="append", default=[], help="drop names starting with this")
    ap.add_argument("--torchvision-resnet18", action="store_true",
                    help="use torchvision.models.resnet18() (random init) as the source")
    a = ap.parse_args()
    import torch
    if a.torchvision_resnet18:
        import torchvision
        sd = torchvision.models.resnet18(weights=None).state_dict()
        a.prefix = a.prefix or "cnn."
        a.skip = a.skip or ["fc."]
    elif a.src:
        sd = torch.load(a.src, map_location="cpu")
        if hasattr(sd, "state_dict"):
            sd = sd.state_dict()
        if not isinstance(sd, dict):
            sys.exit(f"{a.src}: not a state_dict")
    else:
        ap.error("give SRC or --torchvision-resnet18")
    n = 0
    tmp = a.out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = np.bytes_("fke-checkpoint")
        f.attrs["version"] = np.int32(1)
        g = f.create_group("params")
        for k, v in sd.items():
            if k.endswith("num_batches_tracked") or any(k.startswith(s) for s in a.skip):
                continue
            g[a.prefix + k] = v.detach().cpu().numpy().astype(np.float32)
            n += 1
    os.replace(tmp, a.out)
    print(f"{a.out}: {n} tensors")
    if any((a.prefix + k).startswith("visual.transformer.resblocks.") for k in sd):
        print("CLIP ViT tensors (visual.*): OpenAI's CLIP models use QuickGELU; load them with "
              "--set image_tower=vit --set vit_act=quick_gelu (docs/clip.md)")


if __name__ == "__main__":
    main()
