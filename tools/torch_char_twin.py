"""PyTorch twin of configs/shakespeare-char-lstm.yaml: the same experiment written in plain PyTorch.

Same data pipeline (the text split by position 90/5/5, the vocabulary from the training part,
windows of 100 characters with stride 100 and next-character targets, shuffled every epoch, the
last partial batch kept), the same model (embedding 64, 2-layer LSTM 256 with dropout 0.1 between
the layers, linear head), Adam at 0.002 with Recur's cosine schedule (linear warm-up over 100
updates, cosine to 1e-4 at the run's last update), gradient norm clipped to 5, and the mean
cross-entropy over the validation windows after every epoch. It prints one JSON line per epoch
and a final line with the best validation loss, for the README's comparison:

    python3 tools/torch_char_twin.py --text data/tinyshakespeare.txt --seed 1
    recur train configs/shakespeare-char-lstm.yaml --set experiment.seed=1

The seeds do not give the two frameworks the same initial weights or data order; compare the
means over several seeds. Needs ``torch`` only.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def split_bounds(n, fractions):
    bounds, total = [], 0.0
    for f in fractions:
        total += f
        bounds.append(n if abs(total - 1) < 1e-12 else int(math.floor(n * total + 0.5)))
    return bounds


def windows(ids, seq_len):
    count = (len(ids) - 1) // seq_len
    starts = torch.arange(count) * seq_len
    index = starts[:, None] + torch.arange(seq_len + 1)[None, :]
    return ids[index]  # (count, seq_len + 1)


class CharLSTM(nn.Module):
    def __init__(self, vocab, embedding, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = nn.LSTM(embedding, hidden, layers, dropout=dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):  # x: (seq_len, batch)
        out, _ = self.rnn(self.embedding(x))
        return self.head(out)


def cosine_lr(step, lr, warmup, total, min_lr):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * p)) / 2


def mean_loss(model, data, batch):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data), batch):
            w = data[i:i + batch].t()
            logits = model(w[:-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[1:].reshape(-1),
                                     reduction="sum").item()
            count += w[1:].numel()
    model.train()
    return total / count


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a.add_argument("--text", required=True)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--epochs", type=int, default=20)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--seq-len", type=int, default=100)
    a.add_argument("--batch", type=int, default=64)
    args = a.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    text = open(args.text, encoding="utf-8").read()
    b1, b2, b3 = split_bounds(len(text), [0.9, 0.05, 0.05])
    vocab = sorted(set(text[:b1]))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text[:b3]], dtype=torch.long)
    train, val, test = (windows(ids[s:e], args.seq_len) for s, e in [(0, b1), (b1, b2), (b2, b3)])

    model = CharLSTM(len(vocab), 64, 256, 2, 0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    per_epoch = math.ceil(len(train) / args.batch)
    total = per_epoch * args.epochs
    step, best, start = 0, float("inf"), time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train))
        for i in range(0, len(train), args.batch):
            w = train[order[i:i + args.batch]].t()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, 0.002, 100, total, 1e-4)
            logits = model(w[:-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
        v = mean_loss(model, val, args.batch)
        best = min(best, v)
        print(json.dumps({"epoch": epoch + 1, "step": step, "train_loss": round(loss.item(), 4),
                          "validation_loss": round(v, 4), "seconds": round(time.time() - start, 1)}),
              flush=True)
    print(json.dumps({"seed": args.seed, "steps": step, "best_validation_loss": round(best, 4),
                      "test_loss": round(mean_loss(model, test, args.batch), 4),
                      "seconds": round(time.time() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
