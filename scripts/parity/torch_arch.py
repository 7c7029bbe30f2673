#!/usr/bin/env python3
"""PyTorch float64 reference of attend's GPT for every architecture option (gpt.Config):
the loss and the gradient of every learnable for one batch, from attend's own weights.

  go run ./scripts/parity/archdump -out gpt/testdata/arch      (DIR/<family>/case.json, model.safetensors)
  /usr/bin/python3 scripts/parity/torch_arch.py gpt/testdata/arch  (DIR/<family>/torch.json, torch_grads.safetensors)

Weights are read under attend's names and in attend's layout (x·W: a Linear's weight is
(in, out), the transpose of nn.Linear's), and the gradients are written the same way, so
nothing is renamed or transposed. The model follows the options as the Llama and nanochat
references define them:

  norm      layernorm (F.layer_norm, eps 1e-5, bias with "bias"), rmsnorm (x·rsqrt(mean(x²)+eps)·g,
            eps 1e-5 as attend's), rmsnorm-nogain (nanochat's F.rms_norm without a weight)
  pos       learned (wpe), rope (Llama/Meta interleaved pairs (2m, 2m+1), or NeoX/HF halves
            (m, m+d/2), base theta), alibi (the ALiBi paper's get_slopes, bias −slope·(i−j)),
            none
  mlp       gelu (fc → exact GELU → proj), swiglu (proj(silu(x·gate) ∘ (x·up))), relu2 (fc → relu² → proj)
  attention kv_heads < heads: query head h reads kv head h // (heads/kv_heads); qk_norm: parameter-
            free RMS norm of each head's q and k after RoPE (nanochat); windows: a pattern of S/L
            per layer, tiled, the last layer long; S sees the short_window most recent keys
            (itself included)
  head      tied to wte or lm_head; soft_cap c: logits c·tanh(z/c)
"""
import json, math, os, struct, sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
ST = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def read_safetensors(path):
    buf = open(path, "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(buf[8 + n + a:8 + n + b]), dtype=ST[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def get_slopes(n):
    # the ALiBi paper's code (ofirpress/attention_with_linear_biases)
    def pow2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + get_slopes(2 * c)[0::2][:n - c]


def rope(x, theta, style):
    # x (B, T, H, d)
    B, T, H, d = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))  # (d/2)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]  # (T, d/2)
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    if style == "interleaved":
        x1, x2 = x[..., 0::2], x[..., 1::2]
        y1, y2 = x1 * cos - x2 * sin, x1 * sin + x2 * cos
        return torch.stack([y1, y2], -1).flatten(-2)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


def rms(x, g=None, eps=1e-5):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * g if g is not None else y


def norm(P, name, x, c):
    kind = c.get("norm") or "layernorm"
    if kind == "layernorm":
        return F.layer_norm(x, (x.size(-1),), P[name + ".weight"], P.get(name + ".bias"), 1e-5)
    if kind == "rmsnorm":
        return rms(x, P[name + ".weight"])
    if kind == "rmsnorm-nogain":
        return rms(x)
    raise SystemExit("unknown norm " + kind)


def lin(P, name, x, bias):
    y = x @ P[name + ".weight"]
    return y + P[name + ".bias"] if bias else y


def windows(c):
    L = c.get("n_layer") or 1
    pat = (c.get("windows") or "").upper()
    T = c["block_size"]
    short = c.get("short_window") or -(-T // 4)
    if not pat:
        return [None] * L
    w = [short if pat[i % len(pat)] == "S" else None for i in range(L)]
    if "L" in pat:
        w[-1] = None  # nanochat: the last layer always sees the whole context
    return w


def forward(P, c, idx, targets):
    B, T = idx.shape
    C, H = c["n_embd"], c.get("n_head") or 1
    KH = c.get("kv_heads") or H
    d = C // H
    bias = c.get("bias", False)
    pos = c.get("pos") or "learned"
    x = F.embedding(idx, P["wte.weight"])
    if pos == "learned":
        x = x + P["wpe.weight"][:T]
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    for l, win in enumerate(windows(c)):
        b = f"blocks.{l}."
        h = norm(P, b + "ln_1", x, c)
        q = h @ P[b + "attn.wq"] + (P[b + "attn.bq"] if bias else 0)
        k = h @ P[b + "attn.wk"] + (P[b + "attn.bk"] if bias else 0)
        v = h @ P[b + "attn.wv"] + (P[b + "attn.bv"] if bias else 0)
        q, k, v = q.view(B, T, H, d), k.view(B, T, KH, d), v.view(B, T, KH, d)
        if pos == "rope":
            q, k = rope(q, c.get("rope_theta") or 10000.0, c.get("rope_style") or "interleaved"), rope(k, c.get("rope_theta") or 10000.0, c.get("rope_style") or "interleaved")
        if c.get("qk_norm"):
            q, k = rms(q), rms(k)
        rep = H // KH
        k, v = k.repeat_interleave(rep, dim=2), v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, d)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        if pos == "alibi":
            s = torch.tensor(get_slopes(H), dtype=att.dtype)[:, None, None]
            att = att - s * (i - j).clamp(min=0).to(att.dtype)
        blocked = j > i
        if win is not None:
            blocked = blocked | (i - j >= win)
        att = F.softmax(att.masked_fill(blocked, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        y = y @ P[b + "attn.wo"] + (P[b + "attn.bo"] if bias else 0)
        x = x + y
        h = norm(P, b + "ln_2", x, c)
        mlp = c.get("mlp") or "gelu"
        if mlp == "gelu":
            h = lin(P, b + "mlp.proj", F.gelu(lin(P, b + "mlp.fc", h, bias)), bias)
        elif mlp == "relu2":
            h = lin(P, b + "mlp.proj", F.relu(lin(P, b + "mlp.fc", h, bias)).square(), bias)
        elif mlp == "swiglu":
            h = lin(P, b + "mlp.proj", F.silu(lin(P, b + "mlp.gate", h, bias)) * lin(P, b + "mlp.up", h, bias), bias)
        else:
            raise SystemExit("unknown mlp " + mlp)
        x = x + h
    x = norm(P, "ln_f", x, c)
    logits = x @ (P["wte.weight"].t() if c.get("tied") else P["lm_head.weight"])
    cap = c.get("soft_cap") or 0
    if cap:
        logits = cap * torch.tanh(logits / cap)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float64).contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(root):
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        if not os.path.isfile(os.path.join(d, "case.json")):
            continue
        spec = json.load(open(os.path.join(d, "case.json")))
        P = {k: v.to(torch.float64).requires_grad_(True) for k, v in read_safetensors(os.path.join(d, "model.safetensors")).items()}
        x, y = torch.tensor(spec["x"]), torch.tensor(spec["y"])
        loss = forward(P, spec["config"], x, y)
        loss.backward()
        missing = [k for k, v in P.items() if v.grad is None]
        if missing:
            raise SystemExit(f"{case}: no gradient for {missing}")
        write_safetensors(os.path.join(d, "torch_grads.safetensors"), {k: v.grad for k, v in P.items()})
        json.dump({"loss": loss.item(), "torch": torch.__version__}, open(os.path.join(d, "torch.json"), "w"), indent=1)
        print(f"{case}: loss {loss.item():.17g}, {len(P)} gradients")


if __name__ == "__main__":
    main(sys.argv[1])
