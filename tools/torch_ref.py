#!/usr/bin/python3
"""Reference tensors for fke's model agreement test (tests/test_model_torch.c).

Builds the network of docs/model.md in PyTorch 1.13 (Debian's
python3-torch), with fke's wiring choices made explicit below, runs one
training step and a few SGD steps on a small random batch, and writes to
tests/ref/model_<variant>.h5:

  /config            attribute: the fke config JSON of the variant (small sizes)
  /input/*           img (B,3,S,S) crops (B,G,3,s,s) n_garments (B) tokens (B,L)
                     occ (B) cat (B,G) attr (B,G,A) clean (B)
  /params/<name>     initial parameters, named as in fke's parameter table
                     (the same names as this module's state_dict)
  /output/*          occ_logits (B,n_occ) cat_logits (Nv,n_cat) att_logits_k (Nv,n_val[k])
                     loss ()
  /grad/<name>       d loss / d parameter after one backward
  /steps/loss        (K) the loss before each of K SGD steps (same batch)
  /after/<name>      parameters after the K steps (incl. batch-norm running stats)

Wiring choices (also fke's, see src/model/model.c):
  * the CNN runs on the whole images and, separately, on the valid garment
    crops only (padding crops are not computed), in training mode, with the
    same weights but separate batch-norm running statistics for the crops
    (buffers <bn>.running_mean_crop / running_var_crop, see src/model/cnn.h);
  * without Bi-LSTM-1 (context task/none): c_i = f_i and s = f_img;
  * without Bi-LSTM-2 (context visual/none): u_k = a_k;
  * dropout probabilities are set to 0 so that the comparison is exact
    (the config's dropout_text / dropout_head; tools/torch_fke.py, which
    imports Net from here for the benchmark, sets them to 0.4 / 0.5);
  * a batch whose garment slots are all filled skips the packing and the
    selection of valid crops (the same numbers, less copying: the case
    tools/torch_fke.py times).

Parameter-name mapping (also how weights trained elsewhere are brought in:
tools/torch_to_fke.py writes any such state_dict into an fke checkpoint):
  cnn.body.{0,4,8}.weight, cnn.body.{1,5,9}.{weight,bias,running_mean,running_var}
  (small CNN) or torchvision resnet18 names under cnn. (fke-paper);
  W0.weight; rnn1.{weight_ih,weight_hh,bias_ih,bias_hh}_l0[_reverse];
  text.emb.weight, text.convs.{i}.{weight,bias}, text.fc.{weight,bias};
  occ.{0,2,3}.{weight,bias}; Wcat.{weight,bias}; cat_head.{1,2}.{weight,bias};
  Wk.{k}.{weight,bias}; rnn2.*; att_heads.{k}.{1,2}.{weight,bias}; theta.{t}.

  /usr/bin/python3 tools/torch_ref.py            # writes every variant

Needs python3-torch and, to write the files, python3-h5py (imported only
then, so that tools/torch_fke.py and tools/torch_fmnist.py can import the
modules here without it). The ReLUs and the residual add are in place, as in
torchvision's resnet18, so that the benchmark's memory is PyTorch's own.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "ref")


class SmallCNN(nn.Module):
    def __init__(self, in_ch, chans):
        super().__init__()
        layers, c = [], in_ch
        for o in chans:
            layers += [nn.Conv2d(c, o, 3, padding=1, bias=False), nn.BatchNorm2d(o),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c = o
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = Fn.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        y += x if self.downsample is None else self.downsample(x)
        return Fn.relu(y, inplace=True)


class ResNet18(nn.Module):
    """torchvision's resnet18 trunk (same parameter names), base width w."""

    def __init__(self, in_ch, w):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        c = w
        for i, (o, s) in enumerate([(w, 1), (2 * w, 2), (4 * w, 2), (8 * w, 2)]):
            setattr(self, f"layer{i+1}", nn.Sequential(Block(c, o, s), Block(o, o, 1)))
            c = o

    def forward(self, x):
        x = Fn.max_pool2d(Fn.relu(self.bn1(self.conv1(x)), inplace=True), 3, 2, 1)
        for i in range(4):
            x = getattr(self, f"layer{i+1}")(x)
        return x.mean(dim=(2, 3))


def add_crop_stats(cnn):
    """A second set of batch-norm running statistics for the crop pass."""
    for m in cnn.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_buffer("running_mean_crop", m.running_mean.clone())
            m.register_buffer("running_var_crop", m.running_var.clone())


def swap_stats(cnn):
    for m in cnn.modules():
        if isinstance(m, nn.BatchNorm2d):
            a, b = m.running_mean, m.running_mean_crop
            m.running_mean, m.running_mean_crop = b, a
            a, b = m.running_var, m.running_var_crop
            m.running_var, m.running_var_crop = b, a


class TextCNN(nn.Module):
    def __init__(self, V, D, Co, T, widths=(2, 3, 4, 5), p_drop=0.0):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.convs = nn.ModuleList([nn.Conv1d(D, Co, w) for w in widths])
        self.drop = nn.Dropout(p_drop)
        self.fc = nn.Linear(len(widths) * Co, T)

    def forward(self, tok):
        e = self.emb(tok).transpose(1, 2)
        return self.fc(self.drop(torch.cat([Fn.relu(c(e)).amax(dim=2) for c in self.convs], 1)))


class Net(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        Fd, H, H2, M, A = c["F"], c["H"], c["H2"], c["M"], len(c["n_val"])
        ph = c.get("dropout_head", 0.0)
        self.vis = c["context"] in ("all", "visual")
        self.task = c["context"] in ("all", "task")
        RNN = nn.LSTM if c["cell"] == "lstm" else nn.GRU
        self.cnn = (SmallCNN(3, c["chans"]) if c["cnn"] == "small"
                    else ResNet18(3, c["chans"][0]))
        add_crop_stats(self.cnn)
        cdim = Fd
        if self.vis:
            if Fd != H:
                self.W0 = nn.Linear(Fd, H, bias=False)
            self.rnn1 = RNN(Fd, H, batch_first=True, bidirectional=True)
            cdim = 2 * H
        sdim = (2 * H + Fd if self.vis else Fd) + (c["T"] if c["text"] else 0)
        if c["text"]:
            self.text = TextCNN(c["V"], c["D"], c["Co"], c["T"], p_drop=c.get("dropout_text", 0.0))
        self.occ = nn.Sequential(nn.Linear(sdim, M), nn.Dropout(ph), nn.Linear(M, M),
                                 nn.Linear(M, c["n_occ"]))
        self.Wcat = nn.Linear(cdim, M)
        self.cat_head = nn.Sequential(nn.Dropout(ph), nn.Linear(M, M), nn.Linear(M, c["n_cat"]))
        self.Wk = nn.ModuleList([nn.Linear(cdim, M) for _ in range(A)])
        udim = M
        if self.task:
            self.rnn2 = RNN(M, H2, batch_first=True, bidirectional=True)
            udim = 2 * H2
        self.att_heads = nn.ModuleList([nn.Sequential(nn.Dropout(ph), nn.Linear(udim, M),
                                                      nn.Linear(M, n)) for n in c["n_val"]])
        g = torch.Generator().manual_seed(1234)
        th = []
        for n in [c["n_cat"]] + list(c["n_val"]):
            r = torch.rand(n, n, generator=g)
            th.append(nn.Parameter(torch.log(0.7 * torch.eye(n) + 0.3 * r / r.sum(1, keepdim=True) + 1e-6)))
        self.theta = nn.ParameterList(th)

    def forward(self, img, crops, ng, tok):
        """img (B,3,S,S), crops (B,G,3,s,s), ng (B) garments per post, tok (B,L).
        Returns occasion logits (B,n_occ) and, for the valid garments in
        (post, slot) order, category logits (Nv,n_cat) and a list of attribute
        logits (Nv,n_val[k])."""
        B, G = crops.shape[:2]
        gmask = torch.arange(G)[None, :] < ng[:, None]
        full = bool(gmask.all())                           # every slot filled: no packing
        f_img = self.cnn(img)
        swap_stats(self.cnn)                               # the crops' own statistics
        f_v = self.cnn(crops.flatten(0, 1) if full else crops[gmask])  # valid crops only
        swap_stats(self.cnn)
        if self.vis:
            H = self.c["H"]
            if full:
                f_g = f_v.view(B, G, -1)
            else:
                f_g = torch.zeros(B, G, f_v.shape[1])
                f_g[gmask] = f_v
            h0 = (self.W0(f_img) if hasattr(self, "W0") else f_img)
            h0 = h0.unsqueeze(0).expand(2, B, H).contiguous()
            hx = h0 if self.c["cell"] == "gru" else (h0, torch.zeros_like(h0))
            if full:
                out, hn = self.rnn1(f_g, hx)
            else:
                packed = nn.utils.rnn.pack_padded_sequence(f_g, ng.clamp_min(1), batch_first=True,
                                                           enforce_sorted=False)
                out, hn = self.rnn1(packed, hx)
                out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=G)
            hn = hn if self.c["cell"] == "gru" else hn[0]
            s = torch.cat([hn[0], hn[1], f_img], 1)
            cvec = out.flatten(0, 1) if full else out[gmask]
        else:
            s, cvec = f_img, f_v
        if self.c["text"]:
            s = torch.cat([s, self.text(tok)], 1)
        occ = self.occ(s)
        a_cat = self.Wcat(cvec)
        cat = self.cat_head(a_cat)
        a = [w(cvec) for w in self.Wk]
        if self.task:
            u, _ = self.rnn2(torch.stack(a + [a_cat], 1))
            u = [u[:, k] for k in range(len(a))]
        else:
            u = a
        return occ, cat, [h(u[k]) for k, h in enumerate(self.att_heads)]


def task_loss(z, y, clean, log_T, beta):
    valid = y >= 0
    cl, ns = valid & clean, valid & ~clean
    terms = []
    loss = z.new_zeros(())
    has = False
    if cl.any():
        loss = loss + Fn.cross_entropy(z[cl], y[cl]); has = True
    if ns.any():
        if log_T is None:
            ln = Fn.cross_entropy(z[ns], y[ns])
        else:
            ln = -torch.logsumexp(Fn.log_softmax(z[ns], 1) + log_T[:, y[ns]].t(), 1).mean()
        loss = loss + beta * ln; has = True
    return loss, has


def total_loss(net, inp, c):
    occ, cat, att = net(inp["img"], inp["crops"], inp["n_garments"], inp["tokens"])
    G = inp["crops"].shape[1]
    gmask = torch.arange(G)[None, :] < inp["n_garments"][:, None]
    gclean = inp["clean"][:, None].expand_as(gmask)[gmask]
    corr = c["correction"] == "forward"
    terms = []
    l, h = task_loss(occ, inp["occ"], torch.ones_like(inp["clean"]), None, c["beta"])
    if h: terms.append(l)
    th = list(net.theta)
    l, h = task_loss(cat, inp["cat"][gmask], gclean, Fn.log_softmax(th[0], 1) if corr else None, c["beta"])
    if h: terms.append(l)
    for k, z in enumerate(att):
        l, h = task_loss(z, inp["attr"][:, :, k][gmask], gclean,
                         Fn.log_softmax(th[k + 1], 1) if corr else None, c["beta"])
        if h: terms.append(l)
    return torch.stack(terms).mean(), (occ, cat, att)


def make_sgd(net, c):
    """SGD of docs/model.md "Training": the CNN at lr_cnn_mult, Θ at lr_theta_mult."""
    cnn = list(net.cnn.parameters())
    th = list(net.theta.parameters())
    ids = {id(q) for q in cnn + th}
    rest = [q for q in net.parameters() if id(q) not in ids]
    return torch.optim.SGD([{"params": rest, "lr": c["lr"]},
                            {"params": cnn, "lr": c["lr"] * c["lr_cnn_mult"]},
                            {"params": th, "lr": c["lr"] * c["lr_theta_mult"]}],
                           lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])


def fke_config(v):
    c = dict(preset="fke-small", cnn="small", img=16, crop=8, G=3, chans=[4, 6, 8], F=8, H=8,
             H2=6, M=7, V=30, D=5, L=8, Co=3, T=6, n_occ=4, n_cat=5, n_val=[3, 4],
             context="all", text=True, correction="forward", cell="lstm",
             dropout_text=0.0, dropout_head=0.0, batch=4, beta=0.5, lr=0.05, momentum=0.9,
             weight_decay=1e-5, lr_cnn_mult=0.5, lr_theta_mult=0.001, seed=1)
    c.update(v)
    return c


VARIANTS = {
    "all_lstm": dict(),
    "none_gru_textoff_nocorr": dict(context="none", cell="gru", text=False, correction="none"),
    "visual_gru_W0": dict(context="visual", cell="gru", H=5),
    "task_lstm_textoff": dict(context="task", text=False),
    "paper_resnet": dict(preset="fke-paper", cnn="resnet18", img=32, crop=32, chans=[4, 8, 16],
                         F=32, H=32, H2=6),
}


def make_inputs(c, g):
    B, G, A = c["batch"], c["G"], len(c["n_val"])
    ng = torch.tensor([G, 2, 1, G][:B])
    inp = dict(img=torch.randn(B, 3, c["img"], c["img"], generator=g),
               crops=torch.randn(B, G, 3, c["crop"], c["crop"], generator=g),
               n_garments=ng,
               tokens=torch.randint(1, c["V"], (B, c["L"]), generator=g),
               occ=torch.randint(0, c["n_occ"], (B,), generator=g),
               cat=torch.randint(0, c["n_cat"], (B, G), generator=g),
               attr=torch.stack([torch.randint(0, n, (B, G), generator=g) for n in c["n_val"]], 2),
               clean=torch.arange(B) < B // 2)
    gm = torch.arange(G)[None, :] < ng[:, None]
    inp["crops"][~gm] = 0
    inp["cat"][~gm] = -1
    inp["attr"][~gm] = -1
    inp["tokens"][0, -2:] = 0           # some padding tokens
    inp["attr"][1, 0, 0] = -1           # a missing label
    return inp


def state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def run(name, v, steps=3):
    import h5py
    c = fke_config(v)
    torch.manual_seed(7)
    net = Net(c)
    net.train()
    g = torch.Generator().manual_seed(11)
    inp = make_inputs(c, g)
    p0 = state(net)
    loss, (occ, cat, att) = total_loss(net, inp, c)
    net.zero_grad()
    loss.backward()
    grads = {k: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
             for k, p in net.named_parameters()}
    # fresh copy of the initial state (running stats moved by the forward above)
    net.load_state_dict(p0, strict=False)
    opt = make_sgd(net, c)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        l, _ = total_loss(net, inp, c)
        losses.append(float(l))
        l.backward()
        opt.step()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"model_{name}.h5")
    with h5py.File(path + ".tmp", "w") as f:
        f.attrs["config"] = np.bytes_(json.dumps(c))  # fixed-length ASCII
        for k, t in inp.items():
            f[f"input/{k}"] = t.numpy().astype(np.float32 if t.is_floating_point() else np.int32)
        for k, t in p0.items():
            f[f"params/{k}"] = t.numpy().astype(np.float32)
        f["output/occ_logits"] = occ.detach().numpy()
        f["output/cat_logits"] = cat.detach().numpy()
        for k, z in enumerate(att):
            f[f"output/att_logits_{k}"] = z.detach().numpy()
        f["output/loss"] = np.float32(loss.item())
        for k, t in grads.items():
            f[f"grad/{k}"] = t.numpy()
        f["steps/loss"] = np.array(losses, dtype=np.float32)
        for k, t in state(net).items():
            f[f"after/{k}"] = t.numpy().astype(np.float32)
    os.replace(path + ".tmp", path)
    print(f"{path}: loss {loss.item():.6f}, {len(grads)} gradients, steps {losses}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, v in VARIANTS.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        run(name, v)
