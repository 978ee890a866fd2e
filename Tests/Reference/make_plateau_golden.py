"""Writes Tests/RecurOptimTests/Fixtures/plateau_golden.json: the learning rates that
torch.optim.lr_scheduler.ReduceLROnPlateau (mode min, threshold_mode rel) sets after each of a
fixed sequence of validation losses, for several settings. Run by hand with torch installed:
  python3 Tests/Reference/make_plateau_golden.py
"""
import json, math, os, torch

losses = [1.0, 0.9, 0.9, 0.95, 0.899, 0.91, 0.92, 0.93, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.6, 0.7, 0.2, 0.2, 0.2, 0.2, 0.2,
          0.19, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
cases = []
for settings in [dict(factor=0.1, patience=2, cooldown=0, min_lr=0.0, threshold=1e-4),
                 dict(factor=0.5, patience=1, cooldown=2, min_lr=0.01, threshold=1e-4),
                 dict(factor=0.3, patience=0, cooldown=1, min_lr=0.0, threshold=0.05)]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", threshold_mode="rel", **settings)
    rates = []
    for l in losses:
        s.step(l)
        rates.append(opt.param_groups[0]["lr"])
    cases.append(dict(settings=settings, lr=0.1, rates=rates))
out = os.path.join(os.path.dirname(__file__), "..", "RecurOptimTests", "Fixtures", "plateau_golden.json")
with open(out, "w") as f:
    json.dump(dict(torch_version=torch.__version__, losses=losses, cases=cases), f)
print("wrote", out)
