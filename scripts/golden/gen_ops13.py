#!/usr/bin/python3
"""PyTorch float64 reference cases for the decoder building blocks.

graph cases (graph/testdata/ops13, read by graph's TestOps13Golden):
    rmsnorm   y = x * rsqrt(mean(x^2, -1) + eps) * gain     (Llama's RMSNorm; gain optional)
    silu      y = F.silu(x)
    swiglu    y = F.silu(a) * b
    relu2     y = F.relu(x).square()
    softcap   y = c * tanh(z / c)

layers cases (layers/testdata/ops13, read by layers' TestOps13Golden):
    rmsnorm   layers.RMSNorm, learnable "<name>.weight" when it has a gain
    mlp       layers.MLP: gelu   proj(gelu(fc(x)))
                          relu2  proj(relu(fc(x))^2)
                          swiglu proj(silu(gate(x)) * up(x))
              Linear weights are (in, out), the transpose of nn.Linear's.

Every case: loss = sum(out * r); the file holds the inputs, r, out and the gradient of
the loss with respect to every input and learnable (autograd, float64). Before a case is
written its output is recomputed another way (an explicit per-element or per-row
formula) and must agree to 1e-12, and torch.autograd.gradcheck must pass on it.

JSON: {"name", "op" | "kind", scalar settings, "inputs": {name: {"shape", "data"}},
"r", "out", "grads": {name: {"shape", "data"}}}; data is flat, row-major; every number is
finite (allow_nan=False).

Run:  /usr/bin/python3 scripts/golden/gen_ops13.py            (writes both directories)
      /usr/bin/python3 scripts/golden/gen_ops13.py --graph-out DIR --layers-out DIR
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def arr(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def close(a, b, what, tol=1e-12):
    d = ((a - b).abs() / b.abs().clamp(min=1)).max().item() if a.numel() else 0.0
    if not d <= tol:
        sys.exit(f"{what}: the two computations differ by {d}")


# ---------------------------------------------------------------- graph ops

def op_forward(op, ins, p):
    if op == "rmsnorm":
        x, gain = ins["x"], ins.get("gain")
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + p["eps"])
        return y if gain is None else y * gain
    if op == "silu":
        return F.silu(ins["x"])
    if op == "swiglu":
        return F.silu(ins["a"]) * ins["b"]
    if op == "relu2":
        return F.relu(ins["x"]).square()
    if op == "softcap":
        return p["c"] * torch.tanh(ins["z"] / p["c"])
    raise ValueError(op)


def op_other(op, ins, p):
    """The same outputs by explicit loops over rows / elements (independent check)."""
    if op == "rmsnorm":
        x, gain = ins["x"], ins.get("gain")
        c = x.shape[-1]
        rows = x.reshape(-1, c)
        out = torch.empty_like(rows)
        for i in range(rows.shape[0]):
            ms = sum(float(v) ** 2 for v in rows[i]) / c
            r = 1 / math.sqrt(ms + p["eps"])
            for j in range(c):
                g = 1.0 if gain is None else float(gain[j])
                out[i, j] = float(rows[i, j]) * r * g
        return out.reshape(x.shape)
    if op in ("silu", "swiglu"):
        a = ins["x"] if op == "silu" else ins["a"]
        flat = a.reshape(-1)
        out = torch.tensor([v / (1 + math.exp(-v)) if v > -700 else 0.0 for v in flat.tolist()]).reshape(a.shape)
        return out if op == "silu" else out * ins["b"]
    if op == "relu2":
        return torch.tensor([max(v, 0.0) ** 2 for v in ins["x"].reshape(-1).tolist()]).reshape(ins["x"].shape)
    if op == "softcap":
        z = ins["z"]
        return torch.tensor([p["c"] * math.tanh(v / p["c"]) for v in z.reshape(-1).tolist()]).reshape(z.shape)
    raise ValueError(op)


def graph_case(name, op, ins, p, gen):
    ins = {k: v.clone().requires_grad_(True) for k, v in ins.items()}
    out = op_forward(op, ins, p)
    r = torch.randn(out.shape, generator=gen)
    loss = (out * r).sum()
    names = list(ins)
    grads = torch.autograd.grad(loss, [ins[k] for k in names], allow_unused=True) if out.numel() else [torch.zeros_like(ins[k]) for k in names]
    close(out.detach(), op_other(op, {k: v.detach() for k, v in ins.items()}, p), name)
    if out.numel() and op != "relu2":  # relu2 has kinks at 0 that gradcheck may straddle
        ok = torch.autograd.gradcheck(lambda *xs: (op_forward(op, dict(zip(names, xs)), p) * r).sum(),
                                      tuple(ins[k] for k in names), eps=1e-6, atol=1e-5, rtol=1e-4)
        if not ok:
            sys.exit(f"{name}: gradcheck failed")
    case = {"name": name, "op": op}
    case.update(p)
    case["inputs"] = {k: arr(v) for k, v in ins.items()}
    case["r"] = arr(r)
    case["out"] = arr(out)
    case["grads"] = {k: arr(g if g is not None else torch.zeros_like(ins[k])) for k, g in zip(names, grads)}
    return case


def graph_cases(gen):
    n = lambda *s, scale=1.0: torch.randn(s, generator=gen) * scale
    u = lambda *s, lo=-1.0, hi=1.0: lo + (hi - lo) * torch.rand(s, generator=gen)
    f32eps = float(torch.finfo(torch.float32).eps)
    cs = []
    # RMSNorm: C = 1; 2-D and 3-D, with and without a gain; values small enough that eps
    # matters, large values; several eps (nanochat's F.rms_norm default is the float eps).
    cs.append(graph_case("rmsnorm_c1", "rmsnorm", {"x": n(3, 1), "gain": n(1)}, {"eps": 1e-5}, gen))
    cs.append(graph_case("rmsnorm_2d_gain", "rmsnorm", {"x": n(4, 5), "gain": u(5, lo=0.5, hi=1.5)}, {"eps": 1e-5}, gen))
    cs.append(graph_case("rmsnorm_3d_gain", "rmsnorm", {"x": n(2, 3, 8, scale=2), "gain": n(8)}, {"eps": 1e-6}, gen))
    cs.append(graph_case("rmsnorm_3d_nogain", "rmsnorm", {"x": n(2, 3, 8)}, {"eps": 1e-5}, gen))
    cs.append(graph_case("rmsnorm_tiny_eps_matters", "rmsnorm", {"x": n(3, 6, scale=1e-3), "gain": n(6)}, {"eps": 1e-5}, gen))
    cs.append(graph_case("rmsnorm_large", "rmsnorm", {"x": n(2, 7, scale=1e3)}, {"eps": 1e-5}, gen))
    cs.append(graph_case("rmsnorm_float_eps", "rmsnorm", {"x": n(2, 2, 16)}, {"eps": f32eps}, gen))
    cs.append(graph_case("rmsnorm_zero_rows", "rmsnorm", {"x": torch.zeros(0, 4), "gain": n(4)}, {"eps": 1e-5}, gen))
    # SiLU and SwiGLU: ordinary values and the far tails of the sigmoid.
    tails = torch.tensor([-800.0, -50, -20, -1e-8, 0, 1e-8, 20, 50, 800, 3.5])
    cs.append(graph_case("silu_2d", "silu", {"x": n(4, 5, scale=3)}, {}, gen))
    cs.append(graph_case("silu_tails", "silu", {"x": tails.clone()}, {}, gen))
    cs.append(graph_case("swiglu_3d", "swiglu", {"a": n(2, 3, 4, scale=2), "b": n(2, 3, 4)}, {}, gen))
    cs.append(graph_case("swiglu_tails", "swiglu", {"a": tails.clone().reshape(2, 5), "b": n(2, 5)}, {}, gen))
    # ReLU²: exact zeros and negatives.
    x = n(3, 4, scale=2)
    x[0, 0], x[1, 2] = 0.0, 0.0
    cs.append(graph_case("relu2_2d", "relu2", {"x": x}, {}, gen))
    cs.append(graph_case("relu2_3d", "relu2", {"x": n(2, 2, 5)}, {}, gen))
    # SoftCap: values inside and beyond the cap, far tails, a small cap.
    cs.append(graph_case("softcap_30", "softcap", {"z": n(3, 8, scale=40)}, {"c": 30.0}, gen))
    cs.append(graph_case("softcap_15_tails", "softcap", {"z": torch.tensor([[-1e4, -100, -15, 0], [1e-6, 15, 100, 1e4]])}, {"c": 15.0}, gen))
    cs.append(graph_case("softcap_1_3d", "softcap", {"z": n(2, 2, 3, scale=2)}, {"c": 1.0}, gen))
    return cs


# ---------------------------------------------------------------- layers

def llama_hidden(width, multiple_of):
    h = int(2 * (4 * width) / 3)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


def layer_case(name, kind, x, params, settings, forward, other, gen):
    x = x.clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    out = forward(x, params)
    r = torch.randn(out.shape, generator=gen)
    loss = (out * r).sum()
    keys = list(params)
    grads = torch.autograd.grad(loss, [x] + [params[k] for k in keys])
    close(out.detach(), other(x.detach(), {k: v.detach() for k, v in params.items()}), name)
    ok = torch.autograd.gradcheck(lambda *xs: (forward(xs[0], dict(zip(keys, xs[1:]))) * r).sum(),
                                  (x,) + tuple(params[k] for k in keys), eps=1e-6, atol=1e-5, rtol=1e-4)
    if not ok:
        sys.exit(f"{name}: gradcheck failed")
    case = {"name": name, "kind": kind}
    case.update(settings)
    case["inputs"] = {"x": arr(x)}
    case["inputs"].update({k: arr(v) for k, v in params.items()})
    case["r"] = arr(r)
    case["out"] = arr(out)
    case["grads"] = {"x": arr(grads[0])}
    case["grads"].update({k: arr(g) for k, g in zip(keys, grads[1:])})
    return case


def mlp_forward(act):
    def lin(x, p, name):
        y = x @ p[name + ".weight"]
        return y + p[name + ".bias"] if name + ".bias" in p else y

    def f(x, p):
        if act == "gelu":
            h = F.gelu(lin(x, p, "fc"))
        elif act == "relu2":
            h = F.relu(lin(x, p, "fc")).square()
        else:
            h = F.silu(lin(x, p, "gate")) * lin(x, p, "up")
        return lin(h, p, "proj")
    return f


def mlp_other(act):
    """nn.Linear modules with the transposed weights, and the activations by formula."""
    def f(x, p):
        def lin(name):
            w = p[name + ".weight"]
            m = torch.nn.Linear(w.shape[0], w.shape[1], bias=name + ".bias" in p)
            with torch.no_grad():
                m.weight.copy_(w.t())
                if m.bias is not None:
                    m.bias.copy_(p[name + ".bias"])
            return m
        with torch.no_grad():
            if act == "gelu":
                z = lin("fc")(x)
                h = 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))
            elif act == "relu2":
                z = lin("fc")(x)
                h = torch.where(z > 0, z * z, torch.zeros_like(z))
            else:
                g = lin("gate")(x)
                h = g * torch.sigmoid(g) * lin("up")(x)
            return lin("proj")(h)
    return f


def layer_cases(gen):
    n = lambda *s, scale=1.0: torch.randn(s, generator=gen) * scale
    cs = []

    def rms(x, p, eps):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        return y * p["weight"] if "weight" in p else y

    def rms_other(eps):
        return lambda x, p: op_other("rmsnorm", {"x": x, "gain": p.get("weight")}, {"eps": eps})

    cs.append(layer_case("rmsnorm_gain", "rmsnorm", n(2, 3, 8), {"weight": 1 + 0.3 * n(8)},
                         {"width": 8, "gain": True, "eps": 1e-5}, lambda x, p: rms(x, p, 1e-5), rms_other(1e-5), gen))
    cs.append(layer_case("rmsnorm_nogain", "rmsnorm", n(5, 6), {},
                         {"width": 6, "gain": False, "eps": 1e-5}, lambda x, p: rms(x, p, 1e-5), rms_other(1e-5), gen))
    for act, width, hidden, bias, shape in [
        ("gelu", 4, 16, True, (2, 3, 4)),
        ("relu2", 4, 16, False, (2, 3, 4)),
        ("relu2", 5, 8, True, (6, 5)),
        ("swiglu", 6, llama_hidden(6, 4), False, (2, 3, 6)),
        ("swiglu", 4, 7, True, (5, 4)),
    ]:
        p = {}
        ins = ["gate", "up"] if act == "swiglu" else ["fc"]
        for nm in ins:
            p[nm + ".weight"] = n(width, hidden, scale=1 / math.sqrt(width))
            if bias:
                p[nm + ".bias"] = n(hidden, scale=0.1)
        p["proj.weight"] = n(hidden, width, scale=1 / math.sqrt(hidden))
        if bias:
            p["proj.bias"] = n(width, scale=0.1)
        x = n(*shape, scale=1.5)
        cs.append(layer_case(f"mlp_{act}_w{width}_h{hidden}_{'bias' if bias else 'nobias'}", "mlp", x, p,
                             {"act": act, "width": width, "hidden": hidden, "bias": bias},
                             mlp_forward(act), mlp_other(act), gen))
    return cs


def write(cases, out):
    os.makedirs(out, exist_ok=True)
    for c in cases:
        path = os.path.join(out, c["name"] + ".json")
        with open(path, "w") as f:
            json.dump(c, f, allow_nan=False, separators=(",", ":"))
            f.write("\n")
        print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph-out", default=os.path.join(ROOT, "graph", "testdata", "ops13"))
    ap.add_argument("--layers-out", default=os.path.join(ROOT, "layers", "testdata", "ops13"))
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    gen = torch.Generator().manual_seed(a.seed)
    write(graph_cases(gen), a.graph_out)
    write(layer_cases(gen), a.layers_out)


if __name__ == "__main__":
    main()
