#!/usr/bin/env python3
"""Writes data/motifs.csv: 1,200 labelled sequences of 16 to 128 steps (one value per step), one
per row as ragged rows (the sequence's values, then its class), seeded, so the file is the same
on every run. Standard library only.

Each sequence is noise (sd 0.5) with three-step bumps of height ±0.7: one opening the sequence,
one closing it, and 2–5 distractor bumps between. The class says which way the opening and the
closing bumps go: 2·(opening is up) + (closing is up). A model reading forward sees the closing
bump last but must carry the opening one across the whole sequence, past the distractors; the
reverse direction of a bidirectional layer ends on the opening bump. Each sequence's own last
step matters: padding after it would sit between the closing bump and a naively read final state.
"""
import os, random

random.seed(11)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "motifs.csv")
with open(out, "w") as f:
    for _ in range(1200):
        n = random.randint(16, 128)
        x = [random.gauss(0, 0.5) for _ in range(n)]
        opening, closing = random.randint(0, 1), random.randint(0, 1)

        def bump(at, up):
            for k in range(3):
                x[at + k] += 0.7 if up else -0.7

        bump(0, opening)
        bump(n - 3, closing)
        for _ in range(random.randint(2, 5)):
            bump(random.randint(3, n - 6), random.randint(0, 1))
        f.write(",".join(f"{v:.1f}" for v in x) + f",{2 * opening + closing}\n")
print("wrote", out)
