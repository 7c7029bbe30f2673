#!/usr/bin/env python3
"""Writes torchrand/testdata/torch_streams.json: what PyTorch's CPU generator gives.

  /usr/bin/python3 scripts/torchrand/gen_golden.py   # from the repo root; needs python3-torch

Records, for a few seeds, raw 32-bit draws, torch.randint (32- and 64-bit paths),
Tensor.uniform_ and Tensor.normal_ on float32 tensors of several lengths (the Box–Muller
blocks of 16, the recomputed tail, the element-wise path under 16), and nanoGPT's GPT
initialisation (model.py's constructor, _init_weights and the c_proj re-init) for three
configurations, with the batch offsets drawn right after it. torchrand's and layers'
tests compare against this file.
"""
import json, math, os, sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from nanogpt_ref import init_gpt_weights  # noqa: E402

OUT = "torchrand/testdata/torch_streams.json"


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.attn_dropout = nn.Dropout(0.0)
        self.resid_dropout = nn.Dropout(0.0)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])
        self.dropout = nn.Dropout(0.0)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = MLP(c)


class GPT(nn.Module):
    """nanoGPT model.py's GPT.__init__ (tie=False drops the weight-tying line)."""

    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab"], c["n_embd"]),
            wpe=nn.Embedding(c["block"], c["n_embd"]),
            drop=nn.Dropout(0.0),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
            ln_f=LayerNorm(c["n_embd"], c["bias"]),
        ))
        self.lm_head = nn.Linear(c["n_embd"], c["vocab"], bias=False)
        if c["tied"]:
            self.transformer.wte.weight = self.lm_head.weight
        init_gpt_weights(self, c["n_layer"])


def go_params(m, c):
    """The model's tensors under attend's names and in its x·W layout."""
    C, t = c["n_embd"], m.transformer
    p = {"wte.weight": t.wte.weight, "wpe.weight": t.wpe.weight, "ln_f.weight": t.ln_f.weight}
    if c["bias"]:
        p["ln_f.bias"] = t.ln_f.bias
    for i, b in enumerate(t.h):
        n = f"blocks.{i}."
        q, k, v = b.attn.c_attn.weight.split(C, 0)
        p[n + "attn.wq"], p[n + "attn.wk"], p[n + "attn.wv"] = q.t(), k.t(), v.t()
        p[n + "attn.wo"] = b.attn.c_proj.weight.t()
        p[n + "mlp.fc.weight"] = b.mlp.c_fc.weight.t()
        p[n + "mlp.proj.weight"] = b.mlp.c_proj.weight.t()
        p[n + "ln_1.weight"], p[n + "ln_2.weight"] = b.ln_1.weight, b.ln_2.weight
        if c["bias"]:
            bq, bk, bv = b.attn.c_attn.bias.split(C, 0)
            p[n + "attn.bq"], p[n + "attn.bk"], p[n + "attn.bv"] = bq, bk, bv
            p[n + "attn.bo"] = b.attn.c_proj.bias
            p[n + "mlp.fc.bias"], p[n + "mlp.proj.bias"] = b.mlp.c_fc.bias, b.mlp.c_proj.bias
            p[n + "ln_1.bias"], p[n + "ln_2.bias"] = b.ln_1.bias, b.ln_2.bias
    if not c["tied"]:
        p["lm_head.weight"] = m.lm_head.weight.t()
    out = {}
    for k, v in p.items():
        a = v.detach().contiguous().view(-1).double()
        out[k] = {"shape": list(v.shape), "head": a[:24].tolist(), "tail": a[-8:].tolist(),
                  "sum": a.sum().item(), "sumsq": (a * a).sum().item()}
    return out


def main():
    if not os.path.isdir("torchrand"):
        sys.exit("run from the repo root")
    res = {"torch": torch.__version__, "streams": [], "models": []}
    for seed in (1337, 1, 0, 123456789012):
        torch.manual_seed(seed)
        s = {"seed": seed}
        # random() % (2**32 - 1): the raw 32-bit outputs unless one is 2**32 - 1
        s["raw32"] = torch.randint(0, 2**32 - 1, (8,)).tolist()
        s["randint_1003790"] = torch.randint(1003790, (12,)).tolist()
        s["randint_2pow40"] = torch.randint(0, 2**40, (4,)).tolist()
        s["uniform_pm0.1_10"] = torch.empty(10).uniform_(-0.1, 0.1).double().tolist()
        for n in (5, 3, 16, 20, 40, 8320):
            a = torch.empty(n).normal_(0.0, 0.02).double()
            s[f"normal_{n}"] = a.tolist() if n <= 40 else {"head": a[:32].tolist(), "tail": a[-32:].tolist(), "sum": a.sum().item()}
        s["raw32_after"] = torch.randint(0, 2**32 - 1, (4,)).tolist()
        res["streams"].append(s)
    configs = [
        {"seed": 1337, "vocab": 65, "block": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "bias": False, "tied": True, "data_len": 1003854},
        {"seed": 7, "vocab": 11, "block": 8, "n_layer": 2, "n_head": 2, "n_embd": 16, "bias": True, "tied": True, "data_len": 500},
        {"seed": 3, "vocab": 5, "block": 3, "n_layer": 1, "n_head": 3, "n_embd": 12, "bias": True, "tied": False, "data_len": 100},
    ]
    for c in configs:
        torch.manual_seed(c["seed"])
        m = GPT(c)
        offsets = torch.randint(c["data_len"] - c["block"], (12,)).tolist()
        res["models"].append({"config": c, "params": go_params(m, c), "offsets_after": offsets})
    with open(OUT, "w") as f:
        json.dump(res, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
