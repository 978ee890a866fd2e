#!/usr/bin/env python3
"""Writes data/store-sales.csv: monthly sales of 300 store × product series over ten years
(2012-01 … 2021-12), one long table sorted by month then series, as retail data comes. Each
series has its own scale (10 … 5,000 units), trend, yearly season (peak month and strength)
and noise, seeded, so the file is the same on every run. Standard library only."""
import math, os, random

random.seed(11)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "store-sales.csv")
series = []
for store in range(1, 31):
    for product in "ABCDEFGHIJ":
        series.append(dict(name=f"s{store:02d}-{product}", scale=math.exp(random.uniform(math.log(10), math.log(5000))),
                           trend=random.uniform(-0.003, 0.01), season=random.uniform(0.1, 0.5),
                           peak=random.randrange(12), noise=random.uniform(0.03, 0.12)))
with open(out, "w") as f:
    f.write("month,series,sales\n")
    for m in range(120):
        year, month = 2012 + m // 12, m % 12 + 1
        for s in series:
            level = s["scale"] * math.exp(s["trend"] * m)
            seasonal = 1 + s["season"] * math.cos(2 * math.pi * (month - 1 - s["peak"]) / 12)
            v = level * seasonal * math.exp(random.gauss(0, s["noise"]))
            f.write(f"{year}-{month:02d},{s['name']},{v:.1f}\n")
print("wrote", out)
