#!/usr/bin/python3
"""Generate PyTorch reference cases for layers.TestGolden.

The format and the computation are those of testdata/golden/README.md
(/work/shared/golden/README.md):

    q = x·Wq   k = y·Wk   v = y·Wv           (y = x unless cross)
    heads = equal column blocks of q, k, v
    s = q_h·k_hᵀ·scale ; s = -inf where mask ; p = softmax(s) ; o_h = p·v_h
    out = concat_h(o_h) (·Wo when present) ; loss = Σ out ⊙ r

Everything is computed in float64 with autograd. Every case is also recomputed two
other ways and must agree before it is written:
  * an independent per-batch, per-head loop with an explicit max-shifted softmax;
  * torch.nn.functional.multi_head_attention_forward (bias off, in-projections
    = Wq/Wk/Wv transposed, out-projection = Wo transposed, or the identity when the
    case has no Wo), whenever d_value == d_model (PyTorch's MHA needs that).

Run with Debian's Python, which has torch:  /usr/bin/python3 gen_cases.py --out DIR
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

FIELD_ORDER = ["name", "note", "batch", "seq_q", "seq_k", "d_model", "d_value", "heads",
               "scale", "cross", "causal", "x", "y", "wq", "wk", "wv", "wo", "mask", "r",
               "out", "attn", "grad_x", "grad_y", "grad_wq", "grad_wk", "grad_wv", "grad_wo"]


# ---------------------------------------------------------------- the reference

def reference(x, y, wq, wk, wv, wo, mask, heads, scale):
    """The README computation, vectorised. Returns (out, attn)."""
    kv = x if y is None else y
    b, tq, d = x.shape
    tk = kv.shape[1]
    dv = wv.shape[1]
    q = (x @ wq).reshape(b, tq, heads, d // heads).transpose(1, 2)     # (B,H,Tq,dh)
    k = (kv @ wk).reshape(b, tk, heads, d // heads).transpose(1, 2)    # (B,H,Tk,dh)
    v = (kv @ wv).reshape(b, tk, heads, dv // heads).transpose(1, 2)   # (B,H,Tk,dvh)
    s = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        s = s.masked_fill(mask[:, None, :, :], float("-inf"))
    p = torch.softmax(s, dim=-1)
    o = (p @ v).transpose(1, 2).reshape(b, tq, dv)
    out = o if wo is None else o @ wo
    return out, p


def reference_loop(x, y, wq, wk, wv, wo, mask, heads, scale):
    """The same computation written out per batch row and head (independent check)."""
    kv = x if y is None else y
    b, tq, d = x.shape
    dv = wv.shape[1]
    dh, dvh = d // heads, dv // heads
    outs, attns = [], []
    for bi in range(b):
        q = x[bi] @ wq
        k = kv[bi] @ wk
        v = kv[bi] @ wv
        heads_o, heads_p = [], []
        for h in range(heads):
            qh = q[:, h * dh:(h + 1) * dh]
            kh = k[:, h * dh:(h + 1) * dh]
            vh = v[:, h * dvh:(h + 1) * dvh]
            s = torch.mm(qh, kh.t()) * scale
            if mask is not None:
                s = torch.where(mask[bi], torch.full_like(s, float("-inf")), s)
            m = s.max(dim=1, keepdim=True).values.detach()
            e = torch.exp(s - m)
            p = e / e.sum(dim=1, keepdim=True)
            heads_p.append(p)
            heads_o.append(p @ vh)
        o = torch.cat(heads_o, dim=1)
        outs.append(o if wo is None else o @ wo)
        attns.append(torch.stack(heads_p))
    return torch.stack(outs), torch.stack(attns)


def reference_mha(x, y, wq, wk, wv, wo, mask, heads, scale):
    """PyTorch's own multi-head attention (needs d_value == d_model)."""
    kv = x if y is None else y
    b, tq, d = x.shape
    dh = d // heads
    # MHA divides q by sqrt(head width): fold the case's scale into Wq.
    qw = (wq * (scale * math.sqrt(dh))).t()
    ow = torch.eye(d, dtype=x.dtype) if wo is None else wo.t()
    attn_mask = None
    if mask is not None:
        attn_mask = mask.repeat_interleave(heads, dim=0)  # (B*H, Tq, Tk), batch-major
    out, p = F.multi_head_attention_forward(
        x.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1), d, heads,
        None, None, None, None, False, 0.0, ow, None,
        training=False, key_padding_mask=None, need_weights=True, attn_mask=attn_mask,
        use_separate_proj_weight=True, q_proj_weight=qw, k_proj_weight=wk.t(),
        v_proj_weight=wv.t(), average_attn_weights=False)
    return out.transpose(0, 1), p


def run(fn, t, heads, scale):
    """Forward and backward through fn; returns a dict of plain tensors."""
    leaves = {k: v.detach().clone().requires_grad_(True)
              for k, v in t.items() if k in ("x", "y", "wq", "wk", "wv", "wo") and v is not None}
    out, attn = fn(leaves["x"], leaves.get("y"), leaves["wq"], leaves["wk"], leaves["wv"],
                   leaves.get("wo"), t.get("mask"), heads, scale)
    loss = (out * t["r"]).sum()
    loss.backward()
    res = {"out": out.detach(), "attn": attn.detach()}
    for k, v in leaves.items():
        res["grad_" + k] = v.grad.detach()
    return res


def max_rel(a, b):
    d = (a - b).abs()
    return (d / b.abs().clamp_min(1.0)).max().item() if d.numel() else 0.0


# ---------------------------------------------------------------- case building

def rand_mask(gen, b, tq, tk, p):
    return torch.rand(b, tq, tk, generator=gen) < p


def causal_mask(b, tq, tk):
    assert tq == tk, "causal cases are self-attention with seq_q == seq_k"
    return torch.triu(torch.ones(tq, tk, dtype=torch.bool), diagonal=1).expand(b, tq, tk).clone()


def padding_mask(gen, b, tq, tk, lengths=None):
    if lengths is None:
        lengths = [int(torch.randint(1, tk + 1, (1,), generator=gen)) for _ in range(b)]
    m = torch.zeros(b, tq, tk, dtype=torch.bool)
    for bi, n in enumerate(lengths):
        assert 1 <= n <= tk
        m[bi, :, n:] = True
    return m, lengths


def keep_one_key(gen, mask, causal):
    """Unblock one allowed key in every fully blocked query row (PyTorch gives NaN there)."""
    b, tq, tk = mask.shape
    fixed = 0
    for bi in range(b):
        for i in range(tq):
            if mask[bi, i].all():
                hi = i + 1 if causal else tk  # keys a causal layer allows
                j = int(torch.randint(0, hi, (1,), generator=gen))
                mask[bi, i, j] = False
                fixed += 1
    return fixed


def make_case(gen, spec, f32_inputs=False):
    name = spec["name"]
    b, tq, d = spec["batch"], spec["seq_q"], spec["d_model"]
    cross = spec.get("cross", False)
    causal = spec.get("causal", False)
    tk = spec.get("seq_k", tq) if cross else tq
    dv = spec.get("d_value", d)
    h = spec["heads"]
    has_wo = spec.get("wo", False)
    assert d % h == 0 and dv % h == 0, name
    assert not (cross and causal), "the README defines causal only for self-attention"
    scale = spec.get("scale", 1.0 / math.sqrt(d // h))
    assert scale > 0 and math.isfinite(scale)  # 0 means "default" to the Go layer
    notes = [spec.get("note", "")] if spec.get("note") else []

    x = torch.randn(b, tq, d, generator=gen)
    y = torch.randn(b, tk, d, generator=gen) if cross else None
    ws = 1.0 / math.sqrt(d)
    wq = torch.randn(d, d, generator=gen) * ws
    wk = torch.randn(d, d, generator=gen) * ws
    wv = torch.randn(d, dv, generator=gen) * ws
    wo = torch.randn(dv, d, generator=gen) / math.sqrt(dv) if has_wo else None

    # mask: union of the requested patterns
    mask = None
    def union(m):
        nonlocal mask
        mask = m if mask is None else (mask | m)
    if causal:
        union(causal_mask(b, tq, tk))
    if "random_mask" in spec:
        union(rand_mask(gen, b, tq, tk, spec["random_mask"]))
    if "padding" in spec:
        m, lengths = padding_mask(gen, b, tq, tk, spec["padding"] if spec["padding"] is not True else None)
        union(m)
        notes.append("key lengths per batch row %s" % lengths)
    if mask is not None:
        n = keep_one_key(gen, mask, causal)
        if n:
            notes.append("%d fully blocked row(s) given one key back" % n)
        assert not mask.all(dim=-1).any()

    # large logits: scale the inputs until max |score| over unblocked entries hits the target
    if "max_logit" in spec:
        with torch.no_grad():
            kv = x if y is None else y
            q = (x @ wq).reshape(b, tq, h, d // h).transpose(1, 2)
            k = (kv @ wk).reshape(b, tk, h, d // h).transpose(1, 2)
            s = (q @ k.transpose(-1, -2)) * scale
            if mask is not None:
                s = s.masked_fill(mask[:, None], 0.0)
            f = math.sqrt(spec["max_logit"] / s.abs().max().item())
        x = x * f
        if y is not None:
            y = y * f
        notes.append("inputs scaled by %.4g so that max |score| = %g" % (f, spec["max_logit"]))

    r = torch.randn(b, tq, d if has_wo else dv, generator=gen)
    t = {"x": x, "y": y, "wq": wq, "wk": wk, "wv": wv, "wo": wo, "mask": mask, "r": r}
    if f32_inputs:
        # Make every input (and the scale) exactly representable in float32, so that a
        # float32 run starts from the very numbers the float64 reference used.
        t = {k: (v.float().double() if v is not None and v.is_floating_point() else v) for k, v in t.items()}
        x, y, r = t["x"], t["y"], t["r"]
        scale = float(torch.tensor(scale, dtype=torch.float32))
        notes.append("inputs and scale rounded to float32")

    res = run(reference, t, h, scale)
    checks = [("loop", run(reference_loop, t, h, scale))]
    if dv == d:
        checks.append(("mha", run(reference_mha, t, h, scale)))
    for label, other in checks:
        for k, v in res.items():
            e = max_rel(other[k], v)
            if not e < 1e-11:
                sys.exit("%s: %s disagrees with the %s implementation on %s by %.3g" % (name, "reference", label, k, e))
    for k, v in res.items():
        if not torch.isfinite(v).all():
            sys.exit("%s: %s is not finite" % (name, k))

    if "max_logit" in spec:
        with torch.no_grad():
            a = res["attn"]
            notes.append("largest attention weight %.6g, mean row max %.4g"
                         % (a.max().item(), a.max(dim=-1).values.mean().item()))

    case = {"name": name, "note": "; ".join(notes), "batch": b, "seq_q": tq, "seq_k": tk,
            "d_model": d, "d_value": dv, "heads": h, "scale": scale, "cross": cross,
            "causal": causal, "r": r, "mask": mask}
    case.update({k: v for k, v in t.items() if v is not None})
    case.update(res)
    checked = [label for label, _ in checks]
    return case, checked


def to_json(case):
    doc = {}
    for k in FIELD_ORDER:
        if k not in case or case[k] is None:
            continue
        v = case[k]
        doc[k] = v.tolist() if isinstance(v, torch.Tensor) else v
    assert set(case) - set(FIELD_ORDER) == set(), set(case) - set(FIELD_ORDER)
    return json.dumps(doc, allow_nan=False)


# ---------------------------------------------------------------- suites

def default_suite():
    S = []
    a = S.append
    # single tokens
    a(dict(name="single_token_self", batch=1, seq_q=1, d_model=2, heads=1))
    a(dict(name="single_token_causal", batch=2, seq_q=1, d_model=4, heads=2, causal=True, wo=True))
    a(dict(name="single_query_cross", batch=2, seq_q=1, seq_k=5, d_model=4, heads=2, cross=True, wo=True))
    a(dict(name="single_key_cross", batch=3, seq_q=4, seq_k=1, d_model=4, d_value=6, heads=2, cross=True))
    # widths and heads
    a(dict(name="tiny_d2_two_heads", batch=3, seq_q=3, d_model=2, heads=2, wo=True))
    a(dict(name="dvalue_narrow_no_wo", batch=2, seq_q=5, d_model=8, d_value=4, heads=2))
    a(dict(name="dvalue_wide_wo", batch=2, seq_q=5, d_model=4, d_value=12, heads=4, wo=True))
    a(dict(name="dvalue_wide_no_wo", batch=1, seq_q=6, d_model=6, d_value=10, heads=2))
    a(dict(name="heads8_d32_wo", batch=2, seq_q=10, d_model=32, heads=8, wo=True))
    a(dict(name="heads8_dvalue24", batch=1, seq_q=7, d_model=16, d_value=24, heads=8))
    # long sequences
    a(dict(name="long_self_64", batch=1, seq_q=64, d_model=16, heads=4, wo=True))
    a(dict(name="long_keys_cross_64", batch=2, seq_q=9, seq_k=64, d_model=8, heads=2, cross=True))
    a(dict(name="long_causal_64", batch=2, seq_q=64, d_model=8, d_value=4, heads=2, causal=True, wo=True))
    # masks
    a(dict(name="causal_small", batch=3, seq_q=5, d_model=4, heads=1, causal=True))
    a(dict(name="causal_plus_random", batch=2, seq_q=8, d_model=8, heads=4, causal=True, random_mask=0.4, wo=True))
    a(dict(name="random_mask_dense", batch=2, seq_q=6, d_model=8, heads=2, random_mask=0.7))
    a(dict(name="random_mask_cross", batch=3, seq_q=4, seq_k=7, d_model=8, d_value=4, heads=2, cross=True, random_mask=0.5, wo=True))
    a(dict(name="key_padding_self", batch=3, seq_q=6, d_model=8, heads=2, padding=[6, 3, 1], wo=True))
    a(dict(name="key_padding_cross", batch=3, seq_q=5, seq_k=9, d_model=8, heads=4, cross=True, padding=[1, 9, 4]))
    a(dict(name="key_padding_causal", batch=2, seq_q=7, d_model=4, heads=2, causal=True, padding=[7, 2]))
    # scales
    a(dict(name="scale_1", batch=2, seq_q=5, d_model=8, heads=2, scale=1.0))
    a(dict(name="scale_0p1_wo", batch=2, seq_q=6, d_model=16, heads=4, scale=0.1, wo=True))
    a(dict(name="scale_2p5_cross", batch=2, seq_q=4, seq_k=6, d_model=8, heads=2, cross=True, scale=2.5, random_mask=0.3))
    # large logits (softmax nearly one-hot)
    a(dict(name="large_logits_self", batch=2, seq_q=8, d_model=8, heads=2, max_logit=300.0))
    a(dict(name="large_logits_cross_wo", batch=2, seq_q=5, seq_k=7, d_model=8, heads=1, cross=True, scale=1.0, random_mask=0.3, wo=True, max_logit=500.0))
    a(dict(name="large_logits_causal", batch=1, seq_q=12, d_model=16, heads=4, causal=True, max_logit=200.0, wo=True))
    # everything at once
    a(dict(name="mixed_cross_mask_pad_wo", batch=3, seq_q=6, seq_k=11, d_model=12, d_value=8, heads=4, cross=True, random_mask=0.3, padding=True, scale=0.4, wo=True))
    return S


SUITES = {"default": default_suite}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory to write *.json cases into")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--suite", default="default", choices=sorted(SUITES))
    ap.add_argument("--f32-inputs", action="store_true",
                    help="round inputs, weights, r and scale to float32-representable values "
                         "before computing (diagnostic: removes the input-rounding part of float32 errors)")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    for spec in SUITES[args.suite]():
        case, checked = make_case(gen, spec, args.f32_inputs)
        path = os.path.join(args.out, case["name"] + ".json")
        with open(path, "w") as f:
            f.write(to_json(case))
        flags = [k for k in ("cross", "causal") if case[k]]
        flags += ["mask"] if case.get("mask") is not None else []
        flags += ["wo"] if case.get("wo") is not None else []
        print("wrote %-28s b=%d tq=%-2d tk=%-2d d=%-2d dv=%-2d h=%d scale=%-8.4g %-22s checked: ref=%s"
              % (os.path.basename(path), case["batch"], case["seq_q"], case["seq_k"], case["d_model"],
                 case["d_value"], case["heads"], case["scale"], ",".join(flags), "+".join(checked)))


if __name__ == "__main__":
    main()
