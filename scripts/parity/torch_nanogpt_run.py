#!/usr/bin/env python3
"""nanoGPT's CPU Tiny Shakespeare recipe, entirely in PyTorch with PyTorch's own RNG.

  /usr/bin/python3 scripts/parity/torch_nanogpt_run.py [--seed 1337] [--steps 2000] [--data PATH]

Run from the repo root. Mirrors nanoGPT's model.py (GPT with bias=False, dropout 0, the
non-flash attention path of torch < 2.0) and train.py with config/train_shakespeare_char.py
plus the README's CPU overrides (--device=cpu --compile=False --eval_iters=20 --block_size=64
--batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000
--dropout=0.0), including the order in which torch's global RNG is consumed:
torch.manual_seed(seed); model construction + _init_weights + c_proj re-init; the first
training batch is fetched before the loop; in each iteration the evaluation (every 250
iterations, eval_iters batches of train then val) happens before the forward pass, and the
next training batch is fetched right after the forward pass.

Data is prepared like data/shakespeare_char/prepare.py: vocab = sorted(set(text)) (65 chars),
train = first 90%, val = last 10%.

After the step-N evaluation (N = --steps) nanoGPT does one more optimizer step and stops; that
step cannot affect the reported losses and is skipped here. Instead a 400-batch validation
estimate of the step-N weights is made (drawn from the RNG after the step-N evaluation).

The last line printed is JSON: seed, val_loss_20 / train_loss_20 (the step-N estimate_loss),
val_loss_400, wall_s (whole script), ms_per_step (training iterations only, excluding
evaluation). --json-out FILE writes it with every evaluation (cmd/train-toy/testdata holds
one, for the test that attend's --rng torch run repeats this one).
"""
import argparse, json, math, os, time

# torch here is linked against pthread OpenBLAS; its own threads on top of torch's OpenMP
# threads oversubscribe the 2 cores (about 2x slower), so keep BLAS single-threaded
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn as nn
from torch.nn import functional as F

from nanogpt_ref import cosine_lr, init_gpt_weights

# ---- model: nanoGPT model.py (bias=False, dropout 0) ----

N_LAYER, N_HEAD, N_EMBD, BLOCK_SIZE, DROPOUT, BIAS = 4, 4, 128, 64, 0.0, False
BATCH_SIZE = 12
LEARNING_RATE, MIN_LR, WARMUP_ITERS, LR_DECAY_ITERS = 1e-3, 1e-4, 100, 2000
WEIGHT_DECAY, BETA1, BETA2, GRAD_CLIP = 1e-1, 0.9, 0.99, 1.0
EVAL_INTERVAL, EVAL_ITERS, FINAL_VAL_ITERS = 250, 20, 400


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD, bias=BIAS)
        self.c_proj = nn.Linear(N_EMBD, N_EMBD, bias=BIAS)
        self.attn_dropout = nn.Dropout(DROPOUT)
        self.resid_dropout = nn.Dropout(DROPOUT)
        self.n_head, self.n_embd = N_HEAD, N_EMBD
        # torch 1.13 has no scaled_dot_product_attention: nanoGPT's slow path
        self.register_buffer("bias", torch.tril(torch.ones(BLOCK_SIZE, BLOCK_SIZE))
                             .view(1, 1, BLOCK_SIZE, BLOCK_SIZE))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(N_EMBD, 4 * N_EMBD, bias=BIAS)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * N_EMBD, N_EMBD, bias=BIAS)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = LayerNorm(N_EMBD, bias=BIAS)
        self.attn = CausalSelfAttention()
        self.ln_2 = LayerNorm(N_EMBD, bias=BIAS)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, N_EMBD),
            wpe=nn.Embedding(BLOCK_SIZE, N_EMBD),
            drop=nn.Dropout(DROPOUT),
            h=nn.ModuleList([Block() for _ in range(N_LAYER)]),
            ln_f=LayerNorm(N_EMBD, bias=BIAS),
        ))
        self.lm_head = nn.Linear(N_EMBD, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        init_gpt_weights(self, N_LAYER)

    def forward(self, idx, targets):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay = [p for n, p in param_dict.items() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": WEIGHT_DECAY},
                  {"params": nodecay, "weight_decay": 0.0}]
        print(f"num decayed parameter tensors: {len(decay)}, with {sum(p.numel() for p in decay):,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay)}, with {sum(p.numel() for p in nodecay):,} parameters")
        return torch.optim.AdamW(groups, lr=LEARNING_RATE, betas=(BETA1, BETA2))  # eps default 1e-8


def get_lr(it):
    return cosine_lr(it, LEARNING_RATE, MIN_LR, WARMUP_ITERS, LR_DECAY_ITERS)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--data", default="../shared/data/tinyshakespeare.txt")
    ap.add_argument("--json-out", help="also write the final JSON (with every evaluation) to this file")
    ap.add_argument("--no-final-400", action="store_true", help="skip the 400-batch validation estimate")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)

    # data/shakespeare_char/prepare.py
    with open(args.data, "r") as f:
        text = f.read()
    chars = sorted(list(set(text)))
    stoi = {ch: i for i, ch in enumerate(chars)}
    n = len(text)
    encoded = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    splits = {"train": encoded[:int(n * 0.9)], "val": encoded[int(n * 0.9):]}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {n:,} chars, vocab {len(chars)}, "
          f"train {len(splits['train']):,} tokens, val {len(splits['val']):,} tokens; seed {args.seed}")

    def get_batch(split):
        data = splits[split]
        ix = torch.randint(len(data) - BLOCK_SIZE, (BATCH_SIZE,))
        x = torch.stack([data[i:i + BLOCK_SIZE] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + BLOCK_SIZE] for i in ix])
        return x, y

    model = GPT(len(chars))
    n_params = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    print(f"number of parameters: {n_params / 1e6:.2f}M")
    optimizer = model.configure_optimizers()

    @torch.no_grad()
    def estimate_loss(iters, split_names=("train", "val")):
        out = {}
        model.eval()
        for split in split_names:
            losses = torch.zeros(iters)
            for k in range(iters):
                X, Y = get_batch(split)
                _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    X, Y = get_batch("train")  # the very first batch
    iter_num, train_time, last, evals = 0, 0.0, None, []
    while True:
        lr = get_lr(iter_num)
        for g in optimizer.param_groups:
            g["lr"] = lr
        if iter_num % EVAL_INTERVAL == 0 or iter_num == args.steps:
            last = estimate_loss(EVAL_ITERS)
            evals.append({"step": iter_num, "train_loss": last["train"], "val_loss": last["val"]})
            print(f"step {iter_num}: train loss {last['train']:.4f}, val loss {last['val']:.4f}", flush=True)
        if iter_num == args.steps:
            break  # nanoGPT does one more step here, which no reported loss sees
        t0 = time.time()
        _, loss = model(X, Y)
        X, Y = get_batch("train")  # prefetch, as nanoGPT does
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        train_time += time.time() - t0
        iter_num += 1

    val400 = None
    if not args.no_final_400:
        val400 = estimate_loss(FINAL_VAL_ITERS, ("val",))["val"]
        print(f"step {iter_num}: val loss over {FINAL_VAL_ITERS} batches {val400:.4f}")
    wall = time.time() - t_start
    out = {"seed": args.seed, "steps": args.steps, "val_loss_20": last["val"],
           "val_loss_400": val400, "train_loss_20": last["train"],
           "wall_s": round(wall, 2), "ms_per_step": round(1000 * train_time / max(args.steps, 1), 3)}
    print(json.dumps(out))
    if args.json_out:
        out["evals"] = evals
        out["torch"] = torch.__version__
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
