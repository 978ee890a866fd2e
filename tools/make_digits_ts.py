#!/usr/bin/env python3
"""Writes data/digits_TRAIN.ts and data/digits_TEST.ts from data/digits.csv in the UEA/UCR
archive's .ts format, as aeon and sktime write it: each digit's 8 image rows are the time steps
and its 8 columns the dimensions (multivariate, equal length), classes named zero … nine in the
header. The first 1,437 digits train and the last 360 test (an 80/20 cut in file order).
Standard library only."""
import csv, os

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")
names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
rows = list(csv.reader(open(os.path.join(data, "digits.csv"))))
cut = 1437
for part, chunk in (("TRAIN", rows[:cut]), ("TEST", rows[cut:])):
    with open(os.path.join(data, f"digits_{part}.ts"), "w") as f:
        f.write("# UCI optical digits (data/digits.csv) as 8 steps x 8 dimensions; see data/README.md\n")
        f.write("@problemName digits\n@timeStamps false\n@missing false\n@univariate false\n@dimensions 8\n")
        f.write("@equalLength true\n@seriesLength 8\n@classLabel true " + " ".join(names) + "\n@data\n")
        for r in chunk:
            v, label = r[:64], int(r[64])
            # Dimension d is column d of the image over its 8 rows (the steps).
            dims = [",".join(v[t * 8 + d] for t in range(8)) for d in range(8)]
            f.write(":".join(dims) + ":" + names[label] + "\n")
    print("wrote", part, len(chunk))
