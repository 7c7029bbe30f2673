"""What the PyTorch scripts share of nanoGPT: model.py's weight initialisation and
train.py's learning-rate schedule, exactly as nanoGPT writes them (so the draws from
PyTorch's generator and the rates are nanoGPT's own).

The scripts of scripts/parity import it directly; others put this folder on sys.path.
"""
import math

import torch
import torch.nn as nn


def init_gpt_weights(model, n_layer):
    """GPT.__init__'s initialisation: every Linear and Embedding weight from N(0, 0.02),
    Linear biases zero (model.apply(_init_weights)), then each c_proj weight again
    from N(0, 0.02/√(2·n_layer))."""
    model.apply(_init_weights)
    for pn, p in model.named_parameters():
        if pn.endswith("c_proj.weight"):
            torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))


def _init_weights(module):
    if isinstance(module, nn.Linear):
        torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)


def cosine_lr(it, lr, min_lr, warmup, decay):
    """train.py's get_lr: linear warmup over warmup iterations, then cosine decay from
    lr to min_lr at iteration decay, and min_lr after."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    decay_ratio = (it - warmup) / (decay - warmup)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (lr - min_lr)
