#!/usr/bin/env python3
"""configs/motifs-bigru.yaml in plain PyTorch, for timing against Recur on the same cores:
the ragged rows of data/motifs.csv, the same 80/10/10 split by the same seeded shuffle is NOT
reproduced (the split only changes which sequences train), batches of 32 sequences padded and
packed with pack_padded_sequence (sorted longest first), a bidirectional GRU and a linear head
on h_n[-2] ‖ h_n[-1], Adam. Prints the wall time of the training steps.

    /opt/torchref/bin/python tools/torch_motifs_twin.py --hidden 64 --epochs 20 --threads 1
"""
import argparse, os, random, time
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, default=24)
p.add_argument("--epochs", type=int, default=15)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--lr", type=float, default=0.005)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "motifs.csv")
rows = [list(map(float, line.split(","))) for line in open(path) if line.strip()]
seqs = [(torch.tensor(r[:-1]).unsqueeze(1), int(r[-1])) for r in rows]
random.shuffle(seqs)
train = seqs[: int(0.8 * len(seqs))]


class Model(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.rnn = nn.GRU(1, h, bidirectional=True)
        self.head = nn.Linear(2 * h, 4)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=True)
        _, h_n = self.rnn(packed)
        return self.head(torch.cat([h_n[-2], h_n[-1]], dim=1))


model = Model(a.hidden)
opt = torch.optim.Adam(model.parameters(), lr=a.lr)
steps = 0
start = time.perf_counter()
for epoch in range(a.epochs):
    order = list(range(len(train)))
    random.shuffle(order)
    for s in range(0, len(order), a.batch):
        batch = sorted((train[i] for i in order[s: s + a.batch]), key=lambda e: -len(e[0]))
        lengths = torch.tensor([len(e[0]) for e in batch])
        x = nn.utils.rnn.pad_sequence([e[0] for e in batch])
        y = torch.tensor([e[1] for e in batch])
        loss = nn.functional.cross_entropy(model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
elapsed = time.perf_counter() - start
print(f"{steps} steps in {elapsed:.2f} s ({1000 * elapsed / steps:.2f} ms a step), final loss {loss.item():.4f}")
