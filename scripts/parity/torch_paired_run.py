#!/usr/bin/env python3
"""A paired 2000-step run: PyTorch trained from attend's initial weights on attend's batches.

  go run ./scripts/parity/dump -out DIR -steps 2000 -init-only
  go run ./cmd/train-toy --preset nanogpt-cpu --data ../shared/data/tinyshakespeare.txt --out RUN
  /usr/bin/python3 scripts/parity/torch_paired_run.py DIR [RUN/ckpt-<step>/model.safetensors ...]

torch_crosscheck.py shows that one step is the same in both; this asks whether the whole run
is. DIR/init_float32 holds the initial weights of train-toy's nanogpt-cpu run at seed 1337 and
DIR/batches.json its 2000 training batches (the sampler train-toy uses, same seed). This
script trains the nanoGPT model in PyTorch float32 from those weights on those batches with
nanoGPT's recipe, then evaluates that model and every further model file given (attend's
float32 weights, e.g. RUN/ckpt-<step>/model.safetensors of the train-toy run) on the *whole* validation
split, in non-overlapping 64-token windows, with the same PyTorch forward pass. The only
difference between the PyTorch model and attend's is then the implementation of the 2000
steps; float32 rounding makes the two trajectories drift apart, so the difference in final
loss is a draw of that drift, not zero, but it carries no init or sampling luck.

The last line is JSON: steps, the full-validation loss of each model, wall time.
"""
import json, math, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_crosscheck as cc  # noqa: E402  (sets threads and deterministic algorithms)
import torch  # noqa: E402

DATA = "../shared/data/tinyshakespeare.txt"


def val_windows(path):
    with open(path, "r") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    val = ids[int(len(ids) * 0.9):]
    starts = range(0, len(val) - cc.BLOCK, cc.BLOCK)
    x = torch.stack([val[i:i + cc.BLOCK] for i in starts])
    y = torch.stack([val[i + 1:i + 1 + cc.BLOCK] for i in starts])
    return x, y


@torch.no_grad()
def full_val_loss(P, x, y, chunk=64):
    total, count = 0.0, 0
    for i in range(0, len(x), chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        total += cc.forward(P, xb, yb).item() * yb.numel()
        count += yb.numel()
    return total / count


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    t0 = time.time()
    d = sys.argv[1]
    with open(os.path.join(d, "batches.json")) as f:
        bs = json.load(f)
    B, T = bs["batch"], bs["block"]
    xs = [torch.tensor(v, dtype=torch.long).view(B, T) for v in bs["x"]]
    ys = [torch.tensor(v, dtype=torch.long).view(B, T) for v in bs["y"]]
    init = cc.read_safetensors(cc.model_file(os.path.join(d, "init_float32")))
    vx, vy = val_windows(DATA)
    print(f"{len(xs)} training batches; validation: {len(vx)} windows of {T} tokens", flush=True)

    P = {k: torch.nn.Parameter(v.to(torch.float32).clone()) for k, v in cc.go_to_torch(init).items()}
    params = list(P.values())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": cc.WD},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=cc.LR, betas=cc.BETAS, eps=cc.EPS)
    window = []
    for it, (x, y) in enumerate(zip(xs, ys)):
        for g in opt.param_groups:
            g["lr"] = cc.get_lr(it)
        loss = cc.forward(P, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cc.CLIP)
        opt.step()
        window.append(loss.item())
        if (it + 1) % 250 == 0:
            print(f"step {it + 1}: mean training loss of the last 250 steps {sum(window) / len(window):.4f}", flush=True)
            window = []
    result = {"steps": len(xs), "torch_full_val": full_val_loss(P, vx, vy)}
    print(f"PyTorch, trained here: full validation loss {result['torch_full_val']:.4f}", flush=True)
    mine = cc.torch_to_go({k: p.detach() for k, p in P.items()})
    for path in sys.argv[2:]:
        go = cc.read_safetensors(path)
        Q = {k: v.to(torch.float32) for k, v in cc.go_to_torch(go).items()}
        loss = full_val_loss(Q, vx, vy)
        drift = max(cc.tensor_rel(go[k], mine[k]) for k in mine)
        result[path] = loss
        print(f"{path}: full validation loss {loss:.4f}; weights vs PyTorch's, worst ||a-b||/||b|| {drift:.3g}", flush=True)
    result["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
