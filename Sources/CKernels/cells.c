// The cells' fused per-step passes as plain float loops that clang vectorises, once per
// instruction set (Note [Run-time dispatch] in dispatch.c). exp/sigmoid/tanh are the Cephes
// range reductions and polynomials of RecurKernels/Activations.swift (about 1e-7 relative);
// every element is computed on its own, so a value's result does not depend on its position.
#include "CKernels.h"
#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define RS __restrict

INLINE float rk_exp(float x) {
    x = x > 88.3f ? 88.3f : x;           // NaN stays NaN
    x = x < -87.3f ? -87.3f : x;
    const float magic = 12582912.0f;     // 1.5·2^23: t's low bits hold round(x·log2 e)
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t tb; memcpy(&tb, &t, 4);
    uint32_t e = (tb - 0x4B400000u + 127u) << 23;
    float s; memcpy(&s, &e, 4);
    return p * s;
}

INLINE float rk_sigmoid(float x) { return 1.0f / (1.0f + rk_exp(-x)); }

INLINE float rk_tanh(float x) {
    uint32_t bits; memcpy(&bits, &x, 4);
    uint32_t sign = bits & 0x80000000u, abits = bits & 0x7FFFFFFFu;
    float ax; memcpy(&ax, &abits, 4);
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    float small = p * z * x + x;
    float s = rk_exp(ax + ax);
    float largeAbs = 1.0f - 2.0f / (s + 1.0f);
    uint32_t lb; memcpy(&lb, &largeAbs, 4);
    lb |= sign;
    float large; memcpy(&large, &lb, 4);
    return ax < 0.625f ? small : large;
}

// MARK: Bodies (one row of the batch each)

INLINE void lstm_fwd_row(float *RS gi, float *RS gf, float *RS gg, float *RS go, const float *RS cPrev,
                         float *RS cOut, float *RS tc, float *RS hOut, long H) {
    for (long k = 0; k < H; k++) {
        float i = rk_sigmoid(gi[k]), f = rk_sigmoid(gf[k]), g = rk_tanh(gg[k]), o = rk_sigmoid(go[k]);
        float c = f * cPrev[k] + i * g;
        float t = rk_tanh(c);
        gi[k] = i; gf[k] = f; gg[k] = g; go[k] = o;
        cOut[k] = c; tc[k] = t; hOut[k] = o * t;
    }
}

INLINE void lstm_fwd_body(float *gates, const float *cPrev, float *cOut, float *tanhC, float *hOut, long b, long H) {
    for (long j = 0; j < b; j++) {
        float *g4 = gates + j * 4 * H;
        long o = j * H;
        lstm_fwd_row(g4, g4 + H, g4 + 2 * H, g4 + 3 * H, cPrev + o, cOut + o, tanhC + o, hOut + o, H);
    }
}

INLINE void lstm_bwd_row(const float *RS gi, const float *RS gf, const float *RS gg, const float *RS go,
                         const float *RS tc, const float *RS cPrev, const float *RS dOut, const float *RS dhNext,
                         float *RS dcNext, float *RS di, float *RS df, float *RS dg, float *RS dgo, long H) {
    for (long k = 0; k < H; k++) {
        float dh = dOut[k] + dhNext[k];
        float i = gi[k], f = gf[k], g = gg[k], o = go[k], t = tc[k];
        float dc = dcNext[k] + dh * o * (1.0f - t * t);
        di[k] = dc * g * i * (1.0f - i);
        df[k] = dc * cPrev[k] * f * (1.0f - f);
        dg[k] = dc * i * (1.0f - g * g);
        dgo[k] = dh * t * o * (1.0f - o);
        dcNext[k] = dc * f;
    }
}

INLINE void lstm_bwd_body(const float *gates, const float *tanhC, const float *cPrev, const float *dOut,
                          const float *dhNext, float *dcNext, float *dG, long b, long H) {
    for (long j = 0; j < b; j++) {
        const float *g4 = gates + j * 4 * H;
        float *d4 = dG + j * 4 * H;
        long o = j * H;
        lstm_bwd_row(g4, g4 + H, g4 + 2 * H, g4 + 3 * H, tanhC + o, cPrev + o, dOut + o, dhNext + o, dcNext + o,
                     d4, d4 + H, d4 + 2 * H, d4 + 3 * H, H);
    }
}

INLINE void gru_fwd_row(float *RS pr, float *RS pz, float *RS pn, const float *RS qr, const float *RS qz,
                        const float *RS qn, const float *RS bhn, const float *RS hPrev, float *RS hnOut,
                        float *RS hOut, long H) {
    for (long k = 0; k < H; k++) {
        float r = rk_sigmoid(pr[k] + qr[k]);
        float z = rk_sigmoid(pz[k] + qz[k]);
        float hn = qn[k] + bhn[k];
        float n = rk_tanh(pn[k] + r * hn);
        float hp = hPrev[k];
        pr[k] = r; pz[k] = z; pn[k] = n;
        hnOut[k] = hn;
        hOut[k] = n + z * (hp - n);
    }
}

INLINE void gru_fwd_body(float *pre, const float *q, const float *bhn, const float *hPrev, float *hnOut,
                         float *hOut, long b, long H) {
    for (long j = 0; j < b; j++) {
        float *p = pre + j * 3 * H;
        const float *qq = q + j * 3 * H;
        long o = j * H;
        gru_fwd_row(p, p + H, p + 2 * H, qq, qq + H, qq + 2 * H, bhn, hPrev + o, hnOut + o, hOut + o, H);
    }
}

INLINE void gru_bwd_row(const float *RS gr, const float *RS gz, const float *RS gn, const float *RS hn,
                        const float *RS hPrev, const float *RS dOut, float *RS dhNext,
                        float *RS dxr, float *RS dxz, float *RS dxn, float *RS dhr, float *RS dhz, float *RS dhn,
                        long H) {
    for (long k = 0; k < H; k++) {
        float dh = dOut[k] + dhNext[k];
        float r = gr[k], z = gz[k], n = gn[k], hp = hPrev[k];
        float dnp = dh * (1.0f - z) * (1.0f - n * n);
        float dzp = dh * (hp - n) * z * (1.0f - z);
        float drp = dnp * hn[k] * r * (1.0f - r);
        dxr[k] = drp; dxz[k] = dzp; dxn[k] = dnp;
        dhr[k] = drp; dhz[k] = dzp; dhn[k] = dnp * r;
        dhNext[k] = dh * z;
    }
}

INLINE void gru_bwd_body(const float *gates, const float *hn, const float *hPrev, const float *dOut,
                         float *dhNext, float *dX, float *dHG, long b, long H) {
    for (long j = 0; j < b; j++) {
        const float *g3 = gates + j * 3 * H;
        float *dx = dX + j * 3 * H, *dhg = dHG + j * 3 * H;
        long o = j * H;
        gru_bwd_row(g3, g3 + H, g3 + 2 * H, hn + o, hPrev + o, dOut + o, dhNext + o,
                    dx, dx + H, dx + 2 * H, dhg, dhg + H, dhg + 2 * H, H);
    }
}

// GRU reset-before: two fused passes per step around its second GEMM, (W_hn (r ⊙ h)).

INLINE void gru_before_gates_body(float *pre, const float *q, const float *hPrev, float *rh, long b, long H) {
    for (long j = 0; j < b; j++) {
        float *RS pr = pre + j * 3 * H, *RS pz = pr + H;
        const float *RS qr = q + j * 2 * H, *RS qz = qr + H, *RS hp = hPrev + j * H;
        float *RS o = rh + j * H;
        for (long k = 0; k < H; k++) {
            float r = rk_sigmoid(pr[k] + qr[k]);
            float z = rk_sigmoid(pz[k] + qz[k]);
            pr[k] = r; pz[k] = z;
            o[k] = r * hp[k];
        }
    }
}

INLINE void gru_before_output_body(float *pre, const float *hPrev, float *hOut, long b, long H) {
    for (long j = 0; j < b; j++) {
        float *RS pz = pre + j * 3 * H + H, *RS pn = pz + H;
        const float *RS hp = hPrev + j * H;
        float *RS ho = hOut + j * H;
        for (long k = 0; k < H; k++) {
            float n = rk_tanh(pn[k]);
            pn[k] = n;
            ho[k] = n + pz[k] * (hp[k] - n);
        }
    }
}

INLINE void gru_before_backward_zn_body(const float *gates, const float *hPrev, const float *dOut, float *dhNext,
                                        float *dG, long b, long H) {
    for (long j = 0; j < b; j++) {
        const float *RS gz = gates + j * 3 * H + H, *RS gn = gz + H, *RS hp = hPrev + j * H, *RS dO = dOut + j * H;
        float *RS dz = dG + j * 3 * H + H, *RS dn = dz + H, *RS dhn = dhNext + j * H;
        for (long k = 0; k < H; k++) {
            float dh = dO[k] + dhn[k];
            float z = gz[k], n = gn[k];
            dz[k] = dh * (hp[k] - n) * z * (1.0f - z);
            dn[k] = dh * (1.0f - z) * (1.0f - n * n);
            dhn[k] = dh * z;
        }
    }
}

INLINE void gru_before_backward_r_body(const float *gates, const float *hPrev, const float *drh, float *dhNext,
                                       float *dG, long b, long H) {
    for (long j = 0; j < b; j++) {
        const float *RS gr = gates + j * 3 * H, *RS hp = hPrev + j * H, *RS d = drh + j * H;
        float *RS dr = dG + j * 3 * H, *RS dhn = dhNext + j * H;
        for (long k = 0; k < H; k++) {
            float r = gr[k];
            dr[k] = d[k] * hp[k] * r * (1.0f - r);
            dhn[k] = dhn[k] + d[k] * r;
        }
    }
}

INLINE void rnn_fwd_body(const float *RS pre, float *RS hOut, long b, long H, int relu) {
    long n = b * H;
    if (relu) { for (long i = 0; i < n; i++) hOut[i] = pre[i] > 0.0f ? pre[i] : 0.0f; }
    else { for (long i = 0; i < n; i++) hOut[i] = rk_tanh(pre[i]); }
}

INLINE void rnn_bwd_body(const float *RS h, const float *RS dOut, const float *RS dhNext, float *RS dG,
                         long b, long H, int relu) {
    long n = b * H;
    if (relu) { for (long i = 0; i < n; i++) { float dh = dOut[i] + dhNext[i]; dG[i] = h[i] > 0.0f ? dh : 0.0f; } }
    else { for (long i = 0; i < n; i++) { float dh = dOut[i] + dhNext[i]; dG[i] = dh * (1.0f - h[i] * h[i]); } }
}

// MARK: Variants and entry points

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define DISPATCH(name, params, args)                                  \
    static T512 void name##_512 params { name##_body args; }          \
    static T256 void name##_256 params { name##_body args; }          \
    static void name##_base params { name##_body args; }              \
    void recur_##name params {                                        \
        switch (recur_kernel_level()) {                               \
        case 2: name##_512 args; break;                               \
        case 1: name##_256 args; break;                               \
        default: name##_base args; break;                             \
        }                                                             \
    }
#else
#define DISPATCH(name, params, args) void recur_##name params { name##_body args; }
#endif

#define lstm_forward_body lstm_fwd_body
#define lstm_backward_body lstm_bwd_body
#define gru_after_forward_body gru_fwd_body
#define gru_after_backward_body gru_bwd_body
#define rnn_forward_body rnn_fwd_body
#define rnn_backward_body rnn_bwd_body

DISPATCH(lstm_forward,
         (float *gates, const float *cPrev, float *cOut, float *tanhC, float *hOut, long b, long H),
         (gates, cPrev, cOut, tanhC, hOut, b, H))
DISPATCH(lstm_backward,
         (const float *gates, const float *tanhC, const float *cPrev, const float *dOut, const float *dhNext,
          float *dcNext, float *dG, long b, long H),
         (gates, tanhC, cPrev, dOut, dhNext, dcNext, dG, b, H))
DISPATCH(gru_after_forward,
         (float *pre, const float *q, const float *bhn, const float *hPrev, float *hnOut, float *hOut, long b, long H),
         (pre, q, bhn, hPrev, hnOut, hOut, b, H))
DISPATCH(gru_after_backward,
         (const float *gates, const float *hn, const float *hPrev, const float *dOut, float *dhNext, float *dX,
          float *dHG, long b, long H),
         (gates, hn, hPrev, dOut, dhNext, dX, dHG, b, H))
DISPATCH(gru_before_gates, (float *pre, const float *q, const float *hPrev, float *rh, long b, long H),
         (pre, q, hPrev, rh, b, H))
DISPATCH(gru_before_output, (float *pre, const float *hPrev, float *hOut, long b, long H), (pre, hPrev, hOut, b, H))
DISPATCH(gru_before_backward_zn,
         (const float *gates, const float *hPrev, const float *dOut, float *dhNext, float *dG, long b, long H),
         (gates, hPrev, dOut, dhNext, dG, b, H))
DISPATCH(gru_before_backward_r,
         (const float *gates, const float *hPrev, const float *drh, float *dhNext, float *dG, long b, long H),
         (gates, hPrev, drh, dhNext, dG, b, H))
DISPATCH(rnn_forward, (const float *pre, float *hOut, long b, long H, int relu), (pre, hOut, b, H, relu))
DISPATCH(rnn_backward,
         (const float *h, const float *dOut, const float *dhNext, float *dG, long b, long H, int relu),
         (h, dOut, dhNext, dG, b, H, relu))

// MARK: Bias gradients

INLINE void add_column_sums_body(const float *RS a, long rows, long cols, long lda, float *RS dst) {
    for (long r = 0; r < rows; r++) {
        const float *RS row = a + r * lda;
        for (long j = 0; j < cols; j++) dst[j] += row[j];
    }
}

DISPATCH(add_column_sums, (const float *a, long rows, long cols, long lda, float *dst), (a, rows, cols, lda, dst))

// MARK: Inputs of a few features (Note [Few input features] in InputEncoder.swift)

INLINE void small_projection_body(const float *RS x, long rows, long I, const float *RS wT, const float *RS bias,
                                  float *RS out, long cols) {
    for (long r = 0; r < rows; r++) {
        float *RS o = out + r * cols;
        const float *RS xr = x + r * I;
        for (long j = 0; j < cols; j++) o[j] = bias[j];
        for (long i = 0; i < I; i++) {
            float v = xr[i];
            const float *RS w = wT + i * cols;
            for (long j = 0; j < cols; j++) o[j] += v * w[j];
        }
    }
}

INLINE void add_weighted_column_sums_body(const float *RS a, long rows, long cols, long lda, const float *RS x,
                                          long I, float *RS dst) {
    for (long r = 0; r < rows; r++) {
        const float *RS row = a + r * lda;
        for (long i = 0; i < I; i++) {
            float v = x[r * I + i];
            float *RS d = dst + i * cols;
            for (long j = 0; j < cols; j++) d[j] += v * row[j];
        }
    }
}

DISPATCH(small_projection,
         (const float *x, long rows, long I, const float *wT, const float *bias, float *out, long cols),
         (x, rows, I, wT, bias, out, cols))
DISPATCH(add_weighted_column_sums,
         (const float *a, long rows, long cols, long lda, const float *x, long I, float *dst),
         (a, rows, cols, lda, x, I, dst))
