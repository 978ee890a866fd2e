// The exact sums of Note [Layout-invariant steps] (Sources/RecurEngine/Engine+LayoutInvariance.swift):
// the largest magnitude of a gradient, its conversion to scaled 64-bit integers and back, as
// loops clang vectorises once per instruction set (Note [Run-time dispatch]). Every element is
// converted on its own (round to nearest even), so results do not depend on the variant.
#include "CKernels.h"
#include <math.h>
#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))
#define RS __restrict

// Over the magnitudes' bit patterns: for non-negative floats the integer order is the numeric
// order, and every NaN's pattern lies above infinity's, so one unsigned maximum (which vectorises,
// where a float maximum with a NaN check stayed scalar: 2.5% of a deterministic char-lstm step)
// gives the largest magnitude, or a NaN when there is one. Exact, so every variant agrees.
typedef uint32_t __attribute__((may_alias)) alias_u32;
INLINE float max_abs_body(const float *RS x, long n) {
    const alias_u32 *RS u = (const alias_u32 *)x;
    uint32_t m = 0;
    for (long i = 0; i < n; i++) {
        uint32_t a = u[i] & 0x7fffffffu;
        m = a > m ? a : m;
    }
    if (m > 0x7f800000u) return NAN;
    union { uint32_t u; float f; } r = {m};
    return r.f;
}

INLINE void fixed_add_body(const float *RS g, long n, double scale, long long *RS acc, int first) {
    if (first) { for (long i = 0; i < n; i++) acc[i] = (long long)rint((double)g[i] * scale); }
    else { for (long i = 0; i < n; i++) acc[i] += (long long)rint((double)g[i] * scale); }
}

INLINE void fixed_to_float_body(const long long *RS acc, long n, double inverse, float *RS out) {
    for (long i = 0; i < n; i++) out[i] = (float)((double)acc[i] * inverse);
}

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define VARIANTS(ret, name, params, args)                                   \
    static T512 ret name##_512 params { return name##_body args; }          \
    static T256 ret name##_256 params { return name##_body args; }          \
    static ret name##_base params { return name##_body args; }              \
    ret recur_##name params {                                               \
        switch (recur_kernel_level()) {                                     \
        case 2: return name##_512 args;                                     \
        case 1: return name##_256 args;                                     \
        default: return name##_base args;                                   \
        }                                                                   \
    }
#else
#define VARIANTS(ret, name, params, args) ret recur_##name params { return name##_body args; }
#endif

VARIANTS(float, max_abs, (const float *x, long n), (x, n))
VARIANTS(void, fixed_add, (const float *g, long n, double scale, long long *acc, int first), (g, n, scale, acc, first))
VARIANTS(void, fixed_to_float, (const long long *acc, long n, double inverse, float *out), (acc, n, inverse, out))
