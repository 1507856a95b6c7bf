#!/usr/bin/python3
"""PyTorch (CPU) reference of fke's network (docs/model.md), for timing.

The PyTorch side of experiments/bench_vs_torch.sh, the counterpart of
`fke bench`: the same training step (forward, loss, backward, SGD update) on
one random batch of B posts, every garment slot filled (G = 5), context
`all`, text on, correction `forward`, dropout 0.4 / 0.5 as in training. The
network, the loss and the optimiser are tools/torch_ref.py's (Net,
total_loss, make_sgd), which tests/test_model_torch.c checks fke against; the
presets below are docs/model.md's "The two presets" (fke's side:
src/core/config.c). Random inputs and labels: a timing anchor only.

  /usr/bin/python3 tools/torch_fke.py --preset fke-small --threads 2 --steps 30
  /usr/bin/python3 tools/torch_fke.py --preset fke-paper --threads 1 --steps 5

It prints the parameter and FLOP counts, the median/min/max training-step
time, inference posts/s and the CNN-only fwd+bwd time; --json appends one
line with every number (tools/bench_table.py reads it).

The thread count is applied to all three thread pools this PyTorch build
uses: OMP_NUM_THREADS (ATen + oneDNN, via libgomp), OPENBLAS_NUM_THREADS
(the pthread OpenBLAS behind libblas.so.3, used for nn.Linear / nn.LSTM
matmuls; torch.set_num_threads does not reach it) and torch.set_num_threads.
Env vars are set before `import torch` so the libraries see them at load.

PyTorch at its best on a 2-core machine (what experiments/bench_vs_torch.sh
runs): `env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 ...
--blas-threads 1`. One OpenBLAS thread stops its pool from fighting
PyTorch's OpenMP threads for the cores; the malloc settings stop glibc from
handing large activation buffers back to the kernel every step.

Needs Debian's python3-torch (1.13); not part of CI.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

PRESETS = {
    "fke-small": dict(img=64, crop=32, G=5, cnn="small", chans=[32, 64, 128], F=128, H=128,
                      H2=128, M=128, V=2000, D=64, L=16, Co=32, T=128, n_occ=10,
                      n_cat=10, n_val=[8, 4, 3, 3], batch=20),
    "fke-paper": dict(img=224, crop=224, G=5, cnn="resnet18", chans=[64, 128, 256], F=512,
                      H=512, H2=512, M=512, V=7383, D=300, L=16, Co=32, T=512,
                      n_occ=10, n_cat=10, n_val=[8, 4, 3, 3], batch=20),
}
# the training recipe and switches of a timed step (docs/model.md "Training")
RECIPE = dict(context="all", text=True, correction="forward", dropout_text=0.4,
              dropout_head=0.5, beta=0.5, lr=0.01, momentum=0.9, weight_decay=1e-5,
              lr_cnn_mult=0.5, lr_theta_mult=0.001)


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(PRESETS), default="fke-small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OPENBLAS_NUM_THREADS (default: = --threads)")
    ap.add_argument("--steps", type=int, default=None,
                    help="timed training steps (default 30 small / 5 paper)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed warm-up steps (default 5 small / 2 paper)")
    ap.add_argument("--infer-steps", type=int, default=None,
                    help="timed inference batches (default = --steps)")
    ap.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: forward passes under torch.autocast('cpu', dtype=torch.bfloat16), "
                         "PyTorch 1.13's CPU mixed precision (fp32 weights and optimiser)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cnn-only", action="store_true",
                    help="skip the CNN-only fwd+bwd timing")
    ap.add_argument("--json", default=None, help="append one JSON line here")
    ap.add_argument("--tag", default="", help="free text stored in the JSON")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="wait up to this many seconds for the machine to be "
                         "idle (other processes < 0.15 cores) before timing")
    return ap.parse_args()


ARGS = parse_args()
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads or ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import Net, make_sgd, total_loss  # noqa: E402


def random_batch(c, gen):
    """One batch in torch_ref's layout: B posts, all G slots filled, the
    first B/2 clean and the rest machine-labelled."""
    B, G = c["batch"], c["G"]
    img = torch.randn(B, 3, c["img"], c["img"], generator=gen)
    crops = torch.randn(B, G, 3, c["crop"], c["crop"], generator=gen)
    tok = torch.randint(1, c["V"], (B, c["L"]), generator=gen)
    occ = torch.randint(0, c["n_occ"], (B,), generator=gen)
    cat = torch.randint(0, c["n_cat"], (B, G), generator=gen)
    attr = torch.stack([torch.randint(0, n, (B, G), generator=gen) for n in c["n_val"]], 2)
    return dict(img=img, crops=crops, n_garments=torch.full((B,), G, dtype=torch.long),
                tokens=tok, occ=occ, cat=cat, attr=attr, clean=torch.arange(B) < B // 2)


def net_inputs(batch):
    return batch["img"], batch["crops"], batch["n_garments"], batch["tokens"]


# ----------------------------------------------------------------------------
# FLOP counting (2 x multiply-accumulates of conv / linear / recurrent matmuls;
# BN, ReLU, pooling, softmax and other elementwise work not counted)
# ----------------------------------------------------------------------------
def count_flops(model, batch):
    counts = {"cnn": 0, "other": 0}
    cnn_mods = {id(m) for m in model.cnn.modules()}
    hooks = []

    def conv_hook(m, inp, out):
        k = 1
        for s in m.kernel_size:
            k *= s
        f = 2 * out.numel() * (m.in_channels // m.groups) * k
        counts["cnn" if id(m) in cnn_mods else "other"] += f

    def lin_hook(m, inp, out):
        f = 2 * m.in_features * m.out_features * (inp[0].numel() // m.in_features)
        counts["cnn" if id(m) in cnn_mods else "other"] += f

    def rnn_hook(m, inp, out):
        x = inp[0]
        if isinstance(x, nn.utils.rnn.PackedSequence):
            steps = int(x.data.shape[0])
        else:
            steps = x.shape[0] * x.shape[1]
        gates = 4 if isinstance(m, nn.LSTM) else 3
        dirs = 2 if m.bidirectional else 1
        counts["other"] += dirs * steps * 2 * gates * m.hidden_size * (m.input_size + m.hidden_size)

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
        elif isinstance(m, (nn.LSTM, nn.GRU)):
            hooks.append(m.register_forward_hook(rnn_hook))
    with torch.no_grad():
        model.eval()
        model(*net_inputs(batch))
        model.train()
    for h in hooks:
        h.remove()
    return counts


def timeit(fn, n, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def summ(ts):
    return dict(median=statistics.median(ts), min=min(ts), max=max(ts), n=len(ts))


# ----------------------------------------------------------------------------
# Shared-machine guard: CPU used by *other* processes during a timed section
# = (system busy time from /proc/stat) - (this process's CPU time, all threads)
# ----------------------------------------------------------------------------
def _busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / hz     # all but idle and iowait


class Foreign:
    def __enter__(self):
        self.b0, self.p0, self.w0 = _busy_s(), time.process_time(), time.perf_counter()
        self.t0 = os.times()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.w0
        other = (_busy_s() - self.b0) - (time.process_time() - self.p0)
        self.cores = max(0.0, other) / wall if wall > 0 else 0.0
        t1 = os.times()
        self.user = t1.user - self.t0.user        # own CPU, all threads
        self.sys = t1.system - self.t0.system
        self.wall = wall


def wait_idle(max_wait, thresh=0.15, window=3.0):
    """Wait until other processes use < thresh cores over `window` seconds."""
    t0 = time.time()
    while True:
        with Foreign() as fg:
            time.sleep(window)
        if fg.cores < thresh or time.time() - t0 > max_wait:
            return fg.cores, time.time() - t0


def main():
    a = ARGS
    c = dict(PRESETS[a.preset], preset=a.preset, cell=a.cell, **RECIPE)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    steps = a.steps or (30 if a.preset == "fke-small" else 5)
    warm = a.warmup if a.warmup is not None else (5 if a.preset == "fke-small" else 2)
    isteps = a.infer_steps or steps
    gen = torch.Generator().manual_seed(a.seed)

    model = Net(c)
    opt = make_sgd(model, c)
    batch = random_batch(c, gen)

    n_par = sum(q.numel() for q in model.parameters())
    n_cnn = sum(q.numel() for q in model.cnn.parameters())
    n_theta = sum(q.numel() for q in model.theta.parameters())
    n_emb = model.text.emb.weight.numel()
    fl = count_flops(model, batch)
    B = c["batch"]

    print(f"# preset {a.preset}  threads {a.threads} (torch.get_num_threads="
          f"{torch.get_num_threads()}, OPENBLAS_NUM_THREADS="
          f"{os.environ['OPENBLAS_NUM_THREADS']}, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')})  OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}  torch {torch.__version__}  "
          f"precision {a.precision}")
    print(f"# params total {n_par:,}  cnn {n_cnn:,}  embedding {n_emb:,}  "
          f"theta {n_theta:,}  rest {n_par - n_cnn - n_emb - n_theta:,}")
    print(f"# forward FLOPs per batch (B={B}, G={c['G']}): cnn {fl['cnn']/1e9:.3f} G "
          f"(conv+fc MACs x2), rest {fl['other']/1e9:.4f} G")

    model.train()
    import contextlib
    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.precision == "bf16" \
        else contextlib.nullcontext

    def train_step():
        opt.zero_grad(set_to_none=True)
        with amp():
            loss, _ = total_loss(model, batch, c)
        loss.float().backward()
        opt.step()
        return loss

    if a.wait_idle > 0:
        cores, w = wait_idle(a.wait_idle)
        print(f"# waited {w:.0f} s for idle; other load then {cores:.2f} cores")
    l0 = float(total_loss(model, batch, c)[0])
    with Foreign() as fg_train:
        t_train = timeit(train_step, steps, warm)
    l1 = float(total_loss(model, batch, c)[0])
    print(f"# loss on the fixed batch before {l0:.4f} after {warm + steps} steps {l1:.4f}")

    # forward only, eval mode, no grad
    model.eval()

    def infer():
        with torch.no_grad(), amp():
            model(*net_inputs(batch))

    with Foreign() as fg_inf:
        t_inf = timeit(infer, isteps, max(1, warm))

    # CNN part alone: fwd + bwd (+ no optimizer) on the same images and crops
    t_cnn = None
    if not a.no_cnn_only:
        model.train()
        img, crops = batch["img"], batch["crops"].flatten(0, 1)

        def cnn_step():
            model.zero_grad(set_to_none=True)
            with amp():
                s = model.cnn(img).float().sum() + model.cnn(crops).float().sum()
            s.backward()

        with Foreign() as fg_cnn:
            t_cnn = timeit(cnn_step, max(3, steps // 2), max(1, warm // 2))

    st, si = summ(t_train), summ(t_inf)
    cnn_gf = 3 * fl["cnn"] / st["median"] / 1e9
    all_gf = 3 * (fl["cnn"] + fl["other"]) / st["median"] / 1e9
    print(f"train step  median {st['median']*1e3:9.1f} ms  min {st['min']*1e3:9.1f}  "
          f"max {st['max']*1e3:9.1f}  (n={st['n']})  -> {B/st['median']:.1f} posts/s  "
          f"[other load {fg_train.cores:.2f} cores]")
    print(f"  own CPU during training section: user {fg_train.user:.1f} s  sys {fg_train.sys:.1f} s "
          f"over {fg_train.wall:.1f} s wall")
    print(f"  achieved (3 x cnn fwd FLOPs / median step) {cnn_gf:.1f} GFLOP/s; "
          f"(3 x all counted FLOPs) {all_gf:.1f} GFLOP/s")
    print(f"inference   median {si['median']*1e3:9.1f} ms  min {si['min']*1e3:9.1f}  "
          f"max {si['max']*1e3:9.1f}  (n={si['n']})  -> {B/si['median']:.1f} posts/s "
          f"(best {B/si['min']:.1f})  [other load {fg_inf.cores:.2f} cores]")
    res = dict(preset=a.preset, threads=a.threads, cell=a.cell, tag=a.tag, precision=a.precision,
               blas_threads=int(os.environ["OPENBLAS_NUM_THREADS"]),
               omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
               openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
               params=n_par, params_cnn=n_cnn, params_emb=n_emb, params_theta=n_theta,
               flops_fwd_cnn=fl["cnn"], flops_fwd_other=fl["other"],
               train=st, train_all=t_train, infer=si, infer_all=t_inf,
               posts_per_s_train=B / st["median"], posts_per_s_infer=B / si["median"],
               gflops_train_cnn=cnn_gf, gflops_train_all=all_gf,
               other_load_train=fg_train.cores, other_load_infer=fg_inf.cores,
               train_section=dict(wall=fg_train.wall, user=fg_train.user, sys=fg_train.sys),
               loss_before=l0, loss_after=l1, host=platform.node(),
               time=time.strftime("%Y-%m-%d %H:%M:%S"))
    if t_cnn is not None:
        sc = summ(t_cnn)
        print(f"cnn only fwd+bwd median {sc['median']*1e3:9.1f} ms  min {sc['min']*1e3:9.1f}  "
              f"max {sc['max']*1e3:9.1f}  (n={sc['n']})  = {sc['median']/st['median']*100:.0f}% "
              f"of the step; {3*fl['cnn']/sc['median']/1e9:.1f} GFLOP/s  "
              f"[other load {fg_cnn.cores:.2f} cores]")
        res["cnn_only"] = sc
        res["other_load_cnn"] = fg_cnn.cores
        res["gflops_cnn_only"] = 3 * fl["cnn"] / sc["median"] / 1e9
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    sys.exit(main())
