#!/usr/bin/env python3
"""Writes data/bump-tags.csv: 300 sequences of 20 to 100 steps for sequence labelling, one row
per step (columns sequence, x, tag), seeded, so the file is the same on every run. Standard
library only.

Each sequence is noise (sd 0.5) with 1–4 bumps of 3–6 steps and height ±0.8 at random places
that do not touch. A step's tag is 1 inside an upward bump, 2 inside a downward one, else 0.
A bump's first steps look like noise until the steps after them are seen, so a model that also
reads each sequence backwards (a bidirectional layer) tags them better than one reading forward.
"""
import os, random

random.seed(5)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bump-tags.csv")
with open(out, "w") as f:
    f.write("sequence,x,tag\n")
    for s in range(300):
        n = random.randint(20, 100)
        x = [random.gauss(0, 0.5) for _ in range(n)]
        tag = [0] * n
        for _ in range(random.randint(1, 4)):
            width, up = random.randint(3, 6), random.randint(0, 1)
            for _ in range(20):   # a free place: the bump and one step either side untagged
                at = random.randint(0, n - width)
                if all(tag[k] == 0 for k in range(max(at - 1, 0), min(at + width + 1, n))):
                    for k in range(at, at + width):
                        x[k] += 0.8 if up else -0.8
                        tag[k] = 1 if up else 2
                    break
        for k in range(n):
            f.write(f"{s},{x[k]:.2f},{tag[k]}\n")
print("wrote", out)
