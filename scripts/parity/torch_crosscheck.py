#!/usr/bin/env python3
"""Cross-check our nanogpt-cpu training step against PyTorch on identical weights and batches.

  go run ./scripts/parity/dump -out DIR
  /usr/bin/python3 scripts/parity/torch_crosscheck.py DIR

DIR is what scripts/parity/dump wrote: batches.json, init_{float32,float64}/ckpt-0/model.safetensors,
grads0_{dtype}.safetensors (Go gradients after the backward pass on batch 0, before
clipping), final_{dtype}/ckpt-N/model.safetensors (Go weights after the N steps) and
steps_{dtype}.json (Go per-step loss, pre-clip gradient norm, learning rate).

For float32 and float64 it loads the Go initial weights into a nanoGPT-architecture PyTorch
model (pre-LN blocks, fused c_attn, causal attention, 4x exact-GELU MLP, no biases,
bias-free LayerNorm eps 1e-5, tied wte/lm_head), replays the same batches with
torch.optim.AdamW (nanoGPT's groups: dim >= 2 decay 0.1, else 0; betas (0.9, 0.99),
eps 1e-8), nanoGPT's get_lr (lr 1e-3, warmup 100, cosine to 1e-4 at 2000) and
clip_grad_norm_(1.0), and prints:

  * the step-0 forward loss and per-parameter step-0 gradients, Go vs PyTorch;
  * per-step losses and pre-clip gradient norms side by side, with relative differences;
  * the weights after N steps, Go vs PyTorch;
  * a float32 error budget: Go float32 and PyTorch float32 each measured against a PyTorch
    float64 run started from the same (float32) initial weights, i.e. each implementation's
    own float32 rounding error, so Go's can be compared with PyTorch's.

It takes about a minute on 2 cores (three 30-step PyTorch runs).
"""
import json, math, os, struct, sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn.functional as F

from nanogpt_ref import cosine_lr

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

LAYERS, HEADS, WIDTH, BLOCK, VOCAB = 4, 4, 128, 64, 65
LR, MIN_LR, WARMUP, DECAY = 1e-3, 1e-4, 100, 2000
BETAS, EPS, WD, CLIP = (0.9, 0.99), 1e-8, 0.1, 1.0

ST_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def model_file(d):
    """d/model.safetensors, in d's latest checkpoint directory ckpt-<step>[.<n>] if it has one."""
    sets = []
    for n in os.listdir(d):
        step, _, gen = n[len("ckpt-"):].partition(".")
        if n.startswith("ckpt-") and step.isdigit() and (gen == "" or gen.isdigit()) and os.path.isdir(os.path.join(d, n)):
            sets.append((int(step), int(gen or 0), n))
    return os.path.join(d, max(sets)[2] if sets else "", "model.safetensors")


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        dt = ST_DTYPES[e["dtype"]]
        t = torch.frombuffer(bytearray(buf[base + a:base + b]), dtype=dt) if b > a else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


# ---- Go names (x·W layout) <-> PyTorch nanoGPT parameters (nn.Linear layout, W^T) ----

def go_to_torch(go):
    """Go tensors -> dict of nanoGPT-named PyTorch tensors."""
    p = {"wte": go["wte.weight"], "wpe": go["wpe.weight"], "ln_f": go["ln_f.weight"]}
    for i in range(LAYERS):
        b = f"blocks.{i}."
        p[b + "ln_1"] = go[b + "ln_1.weight"]
        p[b + "c_attn"] = torch.cat([go[b + "attn.wq"].t(), go[b + "attn.wk"].t(), go[b + "attn.wv"].t()], 0)
        p[b + "c_proj"] = go[b + "attn.wo"].t()
        p[b + "ln_2"] = go[b + "ln_2.weight"]
        p[b + "c_fc"] = go[b + "mlp.fc.weight"].t()
        p[b + "mlp_proj"] = go[b + "mlp.proj.weight"].t()
    return {k: v.contiguous() for k, v in p.items()}


def torch_to_go(p):
    """nanoGPT-named PyTorch tensors -> Go names and layouts."""
    go = {"wte.weight": p["wte"], "wpe.weight": p["wpe"], "ln_f.weight": p["ln_f"]}
    for i in range(LAYERS):
        b = f"blocks.{i}."
        q, k, v = p[b + "c_attn"].split(WIDTH, 0)
        go[b + "ln_1.weight"] = p[b + "ln_1"]
        go[b + "attn.wq"], go[b + "attn.wk"], go[b + "attn.wv"] = q.t(), k.t(), v.t()
        go[b + "attn.wo"] = p[b + "c_proj"].t()
        go[b + "ln_2.weight"] = p[b + "ln_2"]
        go[b + "mlp.fc.weight"] = p[b + "c_fc"].t()
        go[b + "mlp.proj.weight"] = p[b + "mlp_proj"].t()
    return go


def forward(P, idx, targets):
    """nanoGPT's GPT.forward (bias=False, dropout 0, no flash attention in torch 1.13)."""
    B, T = idx.shape
    C = WIDTH
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = F.embedding(idx, P["wte"]) + P["wpe"][:T]
    for i in range(LAYERS):
        b = f"blocks.{i}."
        h = F.layer_norm(x, (C,), P[b + "ln_1"], None, 1e-5)
        q, k, v = F.linear(h, P[b + "c_attn"]).split(C, dim=2)
        q, k, v = (t.view(B, T, HEADS, C // HEADS).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + F.linear(y, P[b + "c_proj"])
        h = F.layer_norm(x, (C,), P[b + "ln_2"], None, 1e-5)
        x = x + F.linear(F.gelu(F.linear(h, P[b + "c_fc"])), P[b + "mlp_proj"])
    x = F.layer_norm(x, (C,), P["ln_f"], None, 1e-5)
    logits = F.linear(x, P["wte"])
    return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def get_lr(it):
    return cosine_lr(it, LR, MIN_LR, WARMUP, DECAY)


def run_torch(init_go, dtype, xs, ys):
    """Replays the batches; returns step-0 loss/grads (Go layout), per-step records, final weights."""
    P = {k: torch.nn.Parameter(v.to(dtype).clone()) for k, v in go_to_torch(init_go).items()}
    params = list(P.values())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": WD},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    recs, grads0 = [], None
    for it, (x, y) in enumerate(zip(xs, ys)):
        lr = get_lr(it)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = forward(P, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if it == 0:
            grads0 = {k: v.detach().clone() for k, v in torch_to_go({k: p.grad for k, p in P.items()}).items()}
        norm = torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        recs.append({"step": it, "lr": lr, "loss": loss.item(), "grad_norm": norm.item()})
    final = {k: v.detach().clone() for k, v in torch_to_go({k: p.data for k, p in P.items()}).items()}
    return recs, grads0, final


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def tensor_rel(a, b):
    """||a - b|| / ||b|| in float64."""
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    bj = json.load(open(os.path.join(d, "batches.json")))
    B, T = bj["batch"], bj["block"]
    xs = [torch.tensor(x, dtype=torch.long).view(B, T) for x in bj["x"]]
    ys = [torch.tensor(y, dtype=torch.long).view(B, T) for y in bj["y"]]
    n = len(xs)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {n} batches of {B}x{T}")

    res = {}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        init = read_safetensors(model_file(os.path.join(d, f"init_{name}")))
        go_grads = read_safetensors(os.path.join(d, f"grads0_{name}.safetensors"))
        go_final = read_safetensors(model_file(os.path.join(d, f"final_{name}")))
        go_steps = json.load(open(os.path.join(d, f"steps_{name}.json")))
        with torch.no_grad():
            loss0 = forward({k: v.to(dtype) for k, v in go_to_torch(init).items()}, xs[0], ys[0]).item()
        recs, grads0, final = run_torch(init, dtype, xs, ys)
        res[name] = dict(init=init, go_grads=go_grads, go_final=go_final, go=go_steps["steps"],
                         pt=recs, pt_grads=grads0, pt_final=final, loss0=loss0,
                         trainer_identical=go_steps.get("trainer_identical"))

    i32, i64 = res["float32"]["init"], res["float64"]["init"]
    same_init = all(torch.equal(i32[k], i64[k].float()) for k in i32)
    print(f"initial weights: float32 file == float64 file rounded to float32: {same_init}")

    for name in ("float32", "float64"):
        r = res[name]
        go, pt = r["go"], r["pt"]
        print(f"\n=== {name} ===")
        print(f"Go Trainer.TrainStep bit-identical to the hand-written loop: {r['trainer_identical']}")
        print(f"step-0 forward loss: Go {go[0]['loss']:.15g}  PyTorch {r['loss0']:.15g}  "
              f"rel diff {rel(go[0]['loss'], r['loss0']):.2e}")
        print("step-0 gradients (before clipping), ||g_go - g_pt|| / ||g_pt|| and max|g_go - g_pt| / max|g_pt|:")
        worst = []
        for k, gp in r["pt_grads"].items():
            gg = r["go_grads"][k]
            assert tuple(gg.shape) == tuple(gp.shape), (k, gg.shape, gp.shape)
            tr = tensor_rel(gg, gp)
            mx = ((gg.double() - gp.double()).abs().max() / gp.double().abs().max()).item()
            worst.append((tr, mx, k))
        for tr, mx, k in sorted(worst, reverse=True)[:6]:
            print(f"   {k:28s} {tr:.2e}  {mx:.2e}")
        print(f"   ... max over all {len(worst)} parameters: {max(w[0] for w in worst):.2e}  "
              f"median {sorted(w[0] for w in worst)[len(worst) // 2]:.2e}")
        print(f"{'step':>4} {'lr':>10} {'loss Go':>18} {'loss PyTorch':>18} {'rel':>8} "
              f"{'norm Go':>14} {'norm PyTorch':>14} {'rel':>8}")
        ml = mn = 0.0
        for g, p in zip(go, pt):
            assert abs(g["lr"] - p["lr"]) <= 1e-18, (g["lr"], p["lr"])
            rl, rn = rel(g["loss"], p["loss"]), rel(g["grad_norm"], p["grad_norm"])
            ml, mn = max(ml, rl), max(mn, rn)
            print(f"{g['step']:4d} {g['lr']:10.4e} {g['loss']:18.12f} {p['loss']:18.12f} {rl:8.1e} "
                  f"{g['grad_norm']:14.9f} {p['grad_norm']:14.9f} {rn:8.1e}")
        wr = max(tensor_rel(r["go_final"][k], r["pt_final"][k]) for k in r["pt_final"])
        dw = max(tensor_rel(r["go_final"][k] - r["init"][k], r["pt_final"][k] - r["init"][k].to(r["pt_final"][k].dtype))
                 for k in r["pt_final"])
        print(f"max rel diff over {n} steps: loss {ml:.2e}, grad norm {mn:.2e}")
        print(f"weights after {n} steps: max over parameters of ||w_go - w_pt||/||w_pt|| = {wr:.2e}, "
              f"of the update ||Δw_go - Δw_pt||/||Δw_pt|| = {dw:.2e}")
        r["ml"], r["mn"] = ml, mn

    # float32 rounding error of each implementation, measured against a PyTorch float64 run
    # started from the float32 initial weights (upcast), i.e. the exact-arithmetic trajectory.
    r32 = res["float32"]
    ref, g64, w64 = run_torch({k: v.double() for k, v in r32["init"].items()}, torch.float64, xs, ys)
    print("\n=== float32 error budget: Go float32 and PyTorch float32 vs PyTorch float64 from the same (float32) weights ===")
    print(f"{'step':>4} {'loss Go32':>9} {'loss PT32':>9} {'Go32-PT32':>9} {'norm Go32':>9} {'norm PT32':>9}")
    agg = {"go_l": 0.0, "pt_l": 0.0, "gp_l": 0.0, "go_n": 0.0, "pt_n": 0.0}
    for i in range(n):
        ref_l, ref_n = ref[i]["loss"], ref[i]["grad_norm"]
        vals = (rel(r32["go"][i]["loss"], ref_l), rel(r32["pt"][i]["loss"], ref_l),
                rel(r32["go"][i]["loss"], r32["pt"][i]["loss"]),
                rel(r32["go"][i]["grad_norm"], ref_n), rel(r32["pt"][i]["grad_norm"], ref_n))
        for key, v in zip(agg, vals):
            agg[key] = max(agg[key], v)
        print(f"{i:4d} " + " ".join(f"{v:9.1e}" for v in vals))
    print("max: loss Go32 {go_l:.1e}, PT32 {pt_l:.1e}, Go32-vs-PT32 {gp_l:.1e}; "
          "grad norm Go32 {go_n:.1e}, PT32 {pt_n:.1e}".format(**agg))
    print("step-0 gradients vs float64, max (median) over parameters of ||g - g64||/||g64||: " + ", ".join(
        f"{lab} {max(v):.2e} ({sorted(v)[len(v) // 2]:.2e})" for lab, v in (
            ("Go32", [tensor_rel(r32["go_grads"][k], g64[k]) for k in g64]),
            ("PT32", [tensor_rel(r32["pt_grads"][k], g64[k]) for k in g64]))))
    init64 = {k: v.double() for k, v in r32["init"].items()}
    print(f"weights after {n} steps vs float64, max over parameters of ||w - w64||/||w64|| "
          f"(of the update, ||Δw - Δw64||/||Δw64||): " + ", ".join(
              f"{lab} {max(tensor_rel(f[k], w64[k]) for k in w64):.2e} "
              f"({max(tensor_rel(f[k].double() - init64[k], w64[k] - init64[k]) for k in w64):.2e})"
              for lab, f in (("Go32", r32["go_final"]), ("PT32", r32["pt_final"]))))

if __name__ == "__main__":
    main()
