// zlib shim: raw inflate for the deflated members of NumPy .npz archives
// (np.savez_compressed) and CRC-32 to check every member. The Swift reader is
// RecurData/NumPyArchive.swift.
#pragma once
#include <zlib.h>

/// inflateInit2 for raw deflate data (zip members have no zlib header): a function, because
/// Swift does not import the macro.
static inline int recur_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}
