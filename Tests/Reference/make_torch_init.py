"""Writes the fixtures of the "PyTorch weights in" test (Tests/RecurTrainTests/TorchInitTests.swift):

  torch_init_series.csv          a small two-column series (t, value)
  torch_init.safetensors         a plain PyTorch state_dict (safetensors.torch.save_file, no Recur
                                 metadata) of embedding-less LSTM forecaster: rnn = nn.LSTM(1, 6),
                                 head = nn.Linear(6, 1), Recur's names
  torch_after_sgd.safetensors    the same parameters after one SGD step (lr 0.1) on the first
                                 batch Recur trains on: windows of 5 rows, target the next value,
                                 the first 8 windows in order, mean squared error
  torch_init_bi.safetensors,     the same for a bidirectional 2-layer LSTM (nn.LSTM(1, 6, 2,
  torch_bi_after_sgd.safetensors bidirectional=True), head nn.Linear(12, 1) on h_n[-2] ‖ h_n[-1])

Run by hand with torch and safetensors installed:  python3 Tests/Reference/make_torch_init.py
"""
import math, os
import torch
import torch.nn as nn
from safetensors.torch import save_file

here = os.path.join(os.path.dirname(__file__), "..", "RecurTrainTests", "Fixtures")
os.makedirs(here, exist_ok=True)
values = [round(math.sin(0.37 * i) + 0.25 * math.cos(1.3 * i), 6) for i in range(40)]
with open(os.path.join(here, "torch_init_series.csv"), "w") as f:
    f.write("t,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))

torch.manual_seed(7)
class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(1, 6)
        self.head = nn.Linear(6, 1)
    def forward(self, x):               # x: (seq_len, batch, 1)
        out, _ = self.rnn(x)
        return self.head(out[-1])       # (batch, 1): the last step

model = Forecaster()
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(here, "torch_init.safetensors"))

L, B = 5, 8
v = torch.tensor(values, dtype=torch.float32)
x = torch.stack([v[w:w + L] for w in range(B)], dim=1).unsqueeze(-1)   # (L, B, 1)
y = torch.stack([v[w + L] for w in range(B)]).unsqueeze(-1)            # (B, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss = nn.functional.mse_loss(model(x), y)
opt.zero_grad(); loss.backward(); opt.step()
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(here, "torch_after_sgd.safetensors"))
print("loss", loss.item(), "wrote", here)

class BiForecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(1, 6, num_layers=2, bidirectional=True)
        self.head = nn.Linear(12, 1)
    def forward(self, x):               # x: (seq_len, batch, 1)
        _, (h_n, _) = self.rnn(x)
        return self.head(torch.cat([h_n[-2], h_n[-1]], dim=1))   # both directions' final states

torch.manual_seed(8)
bi = BiForecaster()
save_file({k: v.contiguous() for k, v in bi.state_dict().items()}, os.path.join(here, "torch_init_bi.safetensors"))
opt = torch.optim.SGD(bi.parameters(), lr=0.1)
loss = nn.functional.mse_loss(bi(x), y)
opt.zero_grad(); loss.backward(); opt.step()
save_file({k: v.contiguous() for k, v in bi.state_dict().items()}, os.path.join(here, "torch_bi_after_sgd.safetensors"))
print("bidirectional loss", loss.item())
