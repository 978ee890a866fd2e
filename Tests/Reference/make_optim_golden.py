#!/usr/bin/env python3
"""Writes the PyTorch golden fixture for Recur's optimizer tests
(Tests/RecurOptimTests/Fixtures/optim_golden.json).

Run by hand, with torch installed in a virtual environment outside the repository:
    python3 -m venv /opt/torchref && /opt/torchref/bin/pip install torch numpy
    /opt/torchref/bin/python Tests/Reference/make_optim_golden.py
The tests read the committed JSON and need no Python.

The fixture is one JSON object:
  torch_version:      version of torch that wrote it
  shapes:             parameter tensor shapes, in order; Recur sees them concatenated into one
                      flat buffer (ARCHITECTURE.md §1)
  initial_parameters: flat float32 values, all tensors concatenated
  gradients:          three flat gradient vectors, one per step
  cases: list of
    name:       e.g. "adam_weight_decay"
    config:     the optimizer in Recur's OptimizerConfig keys (kind, lr, weight_decay, beta1, ...);
                every key is written, so the test also pins decoding
    parameters: three flat vectors, the parameters after steps 1, 2, 3
    state:      {PyTorch state name: flat values after step 3}  (exp_avg, momentum_buffer, ...)
Every float is the shortest decimal that reads back to the same float32 (checked below).
Learning rates are powers of two, so the Float learning rate Recur's `step` takes is the very
number torch used. torch runs single-tensor (foreach=False) on the CPU in float32.
"""
import json, os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "RecurOptimTests", "Fixtures",
                   "optim_golden.json")
SHAPES = [(3, 4), (4,)]
GRAD_SCALES = [1.0, 0.5, 2.0]


def f32_list(t):
    """Shortest float32 decimals, as Python floats that json writes back unchanged."""
    out = []
    for v in t.detach().reshape(-1).numpy().astype(np.float32):
        x = float(str(v))
        assert np.float32(x) == v, (x, v)  # reading the decimal as a double, then float, is exact
        out.append(x)
    return out


def make_optimizer(params, cfg):
    kind, lr, wd = cfg["kind"], cfg["lr"], cfg["weight_decay"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg["momentum"], dampening=cfg["dampening"],
                               nesterov=cfg["nesterov"], weight_decay=wd, foreach=False)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"], weight_decay=wd,
                   amsgrad=cfg["amsgrad"], foreach=False)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=cfg["alpha"], eps=cfg["eps"], weight_decay=wd,
                                   momentum=cfg["momentum"], centered=cfg["centered"], foreach=False)
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, lr_decay=cfg["lr_decay"], weight_decay=wd,
                                   initial_accumulator_value=cfg["initial_accumulator_value"],
                                   eps=cfg["eps"], foreach=False)
    raise ValueError(kind)


def sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    return dict(kind="sgd", lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                nesterov=nesterov)


def adam(lr, kind="adam", beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
    return dict(kind=kind, lr=lr, weight_decay=weight_decay, beta1=beta1, beta2=beta2, eps=eps,
                amsgrad=amsgrad)


def rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    return dict(kind="rmsprop", lr=lr, weight_decay=weight_decay, alpha=alpha, eps=eps, momentum=momentum,
                centered=centered)


def adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    return dict(kind="adagrad", lr=lr, weight_decay=weight_decay, lr_decay=lr_decay, eps=eps,
                initial_accumulator_value=initial_accumulator_value)


CASES = [
    ("sgd_plain", sgd(0.125)),
    ("sgd_momentum", sgd(0.125, momentum=0.9)),
    ("sgd_momentum_dampening", sgd(0.125, momentum=0.9, dampening=0.25)),
    ("sgd_nesterov", sgd(0.125, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", sgd(0.125, momentum=0.9, weight_decay=0.01)),
    ("adam", adam(0.015625)),
    ("adam_weight_decay", adam(0.015625, weight_decay=0.1)),
    ("adam_amsgrad", adam(0.015625, amsgrad=True)),
    ("adam_small_beta1", adam(0.015625, beta1=0.3, beta2=0.6, eps=1e-6)),  # lerp's other branch
    ("adamw", adam(0.015625, kind="adamw", weight_decay=0.1)),
    ("rmsprop_plain", rmsprop(0.0078125)),
    ("rmsprop_momentum", rmsprop(0.0078125, momentum=0.9, weight_decay=0.01)),
    ("rmsprop_centered", rmsprop(0.0078125, centered=True)),
    ("rmsprop_centered_momentum", rmsprop(0.0078125, centered=True, momentum=0.5)),
    ("adagrad", adagrad(0.125)),
    ("adagrad_decay", adagrad(0.125, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


def main():
    gen = torch.Generator().manual_seed(20240611)
    initial = [torch.randn(s, generator=gen) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen) * k for s in SHAPES] for k in GRAD_SCALES]
    flat = lambda ts: torch.cat([t.reshape(-1) for t in ts])

    cases = []
    for name, cfg in CASES:
        params = [t.clone().requires_grad_(True) for t in initial]
        opt = make_optimizer(params, cfg)
        after = []
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = gi.clone()
            opt.step()
            after.append(f32_list(flat(params)))
        state = {}
        for key in opt.state[params[0]]:
            if key != "step":
                state[key] = f32_list(flat([opt.state[p][key] for p in params]))
        cases.append(dict(name=name, config=cfg, parameters=after, state=state))

    fixture = dict(torch_version=torch.__version__.split("+")[0], shapes=[list(s) for s in SHAPES],
                   initial_parameters=f32_list(flat(initial)),
                   gradients=[f32_list(flat(g)) for g in grads], cases=cases)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
