#!/usr/bin/env python3
"""Writes data/sine-mixture.csv: 4,000 steps of three sines (periods 20, 53 and 171 steps)
plus Gaussian noise (sd 0.05), seeded, so the file is the same on every run. Standard library only."""
import math, os, random

random.seed(7)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sine-mixture.csv")
with open(out, "w") as f:
    f.write("t,value\n")
    for t in range(4000):
        v = (math.sin(2 * math.pi * t / 20) + 0.5 * math.sin(2 * math.pi * t / 53 + 1.0)
             + 0.3 * math.sin(2 * math.pi * t / 171 + 2.0) + random.gauss(0, 0.05))
        f.write(f"{t},{v:.6f}\n")
print("wrote", out)
