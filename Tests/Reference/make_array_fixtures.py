"""Writes the small NumPy and .ts files in Tests/RecurDataTests/Fixtures/ that NumPyReaderTests and
TSReaderTests read: arrays as NumPy itself saves them (np.save, np.savez, np.savez_compressed,
format versions 1.0 to 3.0, both byte orders, Fortran order, a pickled object array) and .ts files
as aeon and sktime write them. The tests' expectations are written by hand from the values here.
Run by hand with numpy installed (nothing runs it at test time):
  python3 Tests/Reference/make_array_fixtures.py
"""
import os
import numpy as np
from numpy.lib import format as npformat

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "RecurDataTests", "Fixtures")
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(out, name)


def save_version(name, array, version):
    with open(path(name), "wb") as f:
        npformat.write_array(f, array, version=version)


# .npy: X alone (prediction on new data)
np.save(path("x_f4.npy"), (np.arange(12, dtype=np.float32) * 0.5).reshape(2, 3, 2))
x8 = np.array([[1.5, -2.0, 3.0], [4.0, 5.25, 6.0]], dtype=np.float64)
np.save(path("x_f8.npy"), x8)
np.save(path("x_f8_be.npy"), x8.astype(">f8"))
save_version("x_i2_v2.npy", np.array([[-3, 7], [300, -32768]], dtype="<i2"), (2, 0))
save_version("x_u1_v3.npy", np.array([[0, 255], [1, 128]], dtype=np.uint8), (3, 0))
np.save(path("fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))

# .npz: X [N, T, F] with integer labels, stored (np.savez)
np.savez(path("int_labels.npz"),
         X=(np.arange(24, dtype=np.float64) / 4).reshape(4, 3, 2),
         y=np.array([0, 1, 2, 1], dtype=np.int64))
# X [N, T] (one feature) with string labels, deflated (np.savez_compressed)
np.savez_compressed(path("string_labels.npz"),
                    X=np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], dtype=np.float32),
                    y=np.array(["walking", "sitting", "walking"]))
# variable lengths: padding after each example's length is NaN (and ignored)
nan = np.nan
np.savez(path("lengths.npz"),
         X=np.array([[1, 2, 3, nan], [4, 5, nan, nan], [6, 7, 8, 9]], dtype=np.float64).reshape(3, 4, 1),
         y=np.array([1, 0, 1], dtype=np.int32),
         lengths=np.array([3, 2, 4], dtype=np.int64))
# missing values inside examples, big-endian int16 labels, deflated
np.savez_compressed(path("missing_values.npz"),
                    x=np.array([[1, nan, 3], [4, 5, nan]], dtype=np.float64),
                    Y=np.array([0, 1], dtype=">i2"))
# byte-string labels and int32 values
np.savez(path("bytes_labels.npz"),
         X=np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int32),
         labels=np.array([b"b", b"aa", b"b"], dtype="S2"))
# labels as pickled Python objects (refused)
np.savez(path("object_labels.npz"),
         X=np.zeros((2, 2), dtype=np.float64),
         y=np.array(["a", 1], dtype=object))

# .ts: univariate, equal length, classes named in the header (their order is not sorted)
with open(path("univariate_named.ts"), "w") as f:
    f.write("""# A toy univariate problem, as aeon's write_to_ts_file lays it out
@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true up down flat
@data
1,2,3,4:up
4,3,2,1:down
2,2,2,2:flat
1.5,2.5,3.5,4.5:up
""")
# .ts: two dimensions, lengths differ, missing values as ?
with open(path("multivariate_variable.ts"), "w") as f:
    f.write("""#Multivariate, unequal length
@problemName ToyMV
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2

@data
1,2,3:10,20,30:1
4,?,6:40,50,60:2
5,6,7,8:?,60,70,80:1
""")
# .ts: time stamps (refused at line 3)
with open(path("timestamps.ts"), "w") as f:
    f.write("""@problemName Stamped
@univariate true
@timeStamps true
@classLabel true a b
@data
(0,1.0),(1,2.0):a
""")
# Series tables (Note [NumPy series]): one 1-D array per column, strings for the series names
# and months, float64 values with one NaN (deflated); and a [T, 2] float32 .npy of two columns.
months = np.array([f"2020-{m:02d}" for m in range(1, 7) for _ in ("a", "b")])
np.savez_compressed(path("series_long.npz"),
                    month=months,
                    shop=np.array(["a", "b"] * 6),
                    sales=np.array([10, 100, 11, 101, 12, np.nan, 13, 103, 14, 104, 15, 105], dtype=np.float64))
np.savez(path("series_ragged.npz"), a=np.arange(3.0), b=np.arange(2.0))
np.save(path("series_2d.npy"), np.array([[1, 10], [2, 20], [3, 30], [4, 40]], dtype=np.float32))
print("wrote", sorted(os.listdir(out)))
