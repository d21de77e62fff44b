// Causal self-attention for tiny heads (up to 64 channels) on a CPU, forward and backward: the CPU kernels of
// the ops replication::causal_attention and replication::causal_attention_backward (defined, built and loaded
// by replication/training/kernels.py; autograd in attention.py), through torch's stable C++ interface.
//
// Per (batch, head) the keys and values are copied into the layouts each pass reads: (channel, key) rows,
// zero-padded, to take dot products with W keys at once (scores), and, for heads of more than HSUM_MAX_D
// channels, (key, channel) rows, to sum keys weighted by probabilities into a query's output (or gradient)
// without horizontal sums. Queries go in blocks of R rows over only the
// vectors of W keys that hold a visible key (the causal half of the square, not all of it); the backward
// recomputes the probabilities from each row's log-sum-exp, as flash attention does. Vectors: kernels.h.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>

#include "kernels.h"

// n floats aligned to the vector size (aligned_alloc wants a whole number of alignments)
static float* scratch(int64_t n) { return (float*)std::aligned_alloc(64, sizeof(float) * ((n + W - 1) / W * W)); }

// Strides (in floats) of a (B,H,T,D) tensor whose channels are adjacent: batch, head, token; and its extent,
// the floats from its first element through its last (what may be read from its start).
struct Strides { int64_t b, h, t, extent; };

// One head's keys or values: xt as (channel, key) rows, zero-padded to tp keys; xr as (key, channel) rows of dp
// floats, whose lanes past D hold whatever (they only reach output channels past D, never stored); load fills
// the layouts asked for (each pass reads only some).
struct Head {
    float *xt, *xr;
    template <int NV>
    void load(const float* x, Strides s, int64_t bh, int64_t H, int64_t T, int64_t D, int64_t tp, int64_t dp,
              bool rows_of_channels, bool rows_of_keys) {
        const int64_t offset = (bh / H) * s.b + (bh % H) * s.h;
        const float* base = x + offset;
        if (rows_of_keys)
            for (int64_t t = 0; t < T; t++) {
                // whole vectors where the tensor goes on that far (the lanes past D then hold its next values);
                // else D floats (memcpy is a call)
                if (offset + t * s.t + NV * W <= s.extent)
                    for (int v = 0; v < NV; v++) store(xr + t * dp + v * W, ::load(base + t * s.t + v * W));
                else
                    std::memcpy(xr + t * dp, base + t * s.t, sizeof(float) * D);
            }
        if (rows_of_channels)
            for (int64_t t = 0; t < T; t++)
                for (int64_t d = 0; d < D; d++) xt[d * tp + t] = base[t * s.t + d];
    }
};

// Up to this head size, a query's output (and gradient) is summed along (channel, key) rows, one horizontal
// sum per channel; above it, along (key, channel) rows, where a row of few channels would waste most lanes.
#ifndef HSUM_MAX_D
#define HSUM_MAX_D 8
#endif

// acc[r] += sum over keys j < n of w[r][j] * x[j] (rows of NV vectors): weights (R rows of tp) times key rows.
template <int R, int NV>
static inline void weighted_rows(const float* w, int64_t tp, const float* xr, int64_t n, vf acc[R][NV]) {
    for (int64_t j = 0; j < n; j++) {
        vf x[NV];
        for (int v = 0; v < NV; v++) x[v] = load(xr + (j * NV + v) * W);
        for (int r = 0; r < R; r++) {
            const vf wj = splat(w[r * tp + j]);
            for (int v = 0; v < NV; v++) acc[r][v] += wj * x[v];
        }
    }
}

// acc[R][NV] scaled by f[r], its first D channels written to out[r]
template <int R, int NV>
static inline void store_rows(vf acc[R][NV], const float* f, int64_t D, float* out[R]) {
    for (int r = 0; r < R; r++) {
        float tmp[NV * W];
        for (int v = 0; v < NV; v++) store(tmp + v * W, acc[r][v] * splat(f[r]));
        std::memcpy(out[r], tmp, sizeof(float) * D);
    }
}

// out[r][d] = f[r] * sum over keys j < nc W of w[r][j] * x[j][d], for a block of R rows of weights (R rows of tp):
// a query's output (weights: probabilities, x: values) or gradient (weights: score gradients, x: keys). Up to
// HSUM_MAX_D channels along X's (channel, key) rows, one horizontal sum per channel and row; above, along its
// (key, channel) rows.
template <int R, int NV>
static inline void weighted_sum(const float* w, int64_t tp, Head X, int64_t nc, int64_t D, const float* f,
                                float* out[R]) {
    if (D <= HSUM_MAX_D) {
        for (int64_t d = 0; d < D; d++) {
            vf a[R] = {};
            for (int64_t c = 0; c < nc; c++) {
                const vf x = load(X.xt + d * tp + c * W);
                for (int r = 0; r < R; r++) a[r] += load(w + r * tp + c * W) * x;
            }
            for (int r = 0; r < R; r++) out[r][d] = hsum(a[r]) * f[r];
        }
        return;
    }
    vf acc[R][NV] = {};
    weighted_rows<R, NV>(w, tp, X.xr, nc * W, acc);
    store_rows<R, NV>(acc, f, D, out);
}

// One block of R query rows i0..i0+R-1, all in one vector of W keys, so they share the count nc of key
// vectors they see. P holds R rows of tp floats: the scores, then the probabilities.
template <int R, int NV>
static void forward_rows(int64_t i0, int64_t nc, const float* qs, Head K, Head V, int64_t tp, int64_t D,
                         float* P, float* o_rows[R], float* lse_rows) {
    float inv_l[R];
    vf vmax[R], row[R];
    for (int r = 0; r < R; r++) { vmax[r] = splat(-INFINITY); row[r] = splat((float)(i0 + r)); }
    for (int64_t c = 0; c < nc; c++) {
        vf s[R] = {};
        for (int64_t d = 0; d < D; d++) {
            const vf k = load(K.xt + d * tp + c * W);
            for (int r = 0; r < R; r++) s[r] += splat(qs[r * D + d]) * k;
        }
        if (c == nc - 1) {  // the vector on the diagonal: the keys after each row's are masked
            const vf j = iota(c * W);
            for (int r = 0; r < R; r++) s[r] = j <= row[r] ? s[r] : splat(-INFINITY);
        }
        for (int r = 0; r < R; r++) {
            store(P + r * tp + c * W, s[r]);
            vmax[r] = s[r] > vmax[r] ? s[r] : vmax[r];
        }
    }
    float m[R];
    vf l = splat(1.0f);  // the rows' sums, in lanes 0..R-1
    for (int r = 0; r < R; r++) {
        m[r] = hmax(vmax[r]);
        vf vsum = {};
        for (int64_t c = 0; c < nc; c++) {
            vf e = vexp(load(P + r * tp + c * W) - splat(m[r]));
            if (c == nc - 1) e = iota(c * W) <= row[r] ? e : splat(0.0f);
            store(P + r * tp + c * W, e);
            vsum += e;
        }
        l[r] = hsum(vsum);
        inv_l[r] = 1.0f / l[r];
    }
    const vf log_l = vlog(l);
    for (int r = 0; r < R; r++) lse_rows[r] = m[r] + log_l[r];
    weighted_sum<R, NV>(P, tp, V, nc, D, inv_l, o_rows);
}

// The backward of one block of rows (as forward_rows): P and S get the rows' probabilities and score
// gradients; dKt and dVt (channel, key) accumulate the keys' and values' gradients; dq_rows get the queries'.
template <int R, int NV>
static void backward_rows(int64_t i0, int64_t nc, const float* qs, const float* g, const float* di,
                          const float* lse_rows, Head K, Head V, float* dKt, float* dVt, int64_t tp, int64_t D,
                          float scale, float* P, float* S, float* dq_rows[R]) {
    vf row[R], li[R], vdi[R];
    for (int r = 0; r < R; r++) { row[r] = splat((float)(i0 + r)); li[r] = splat(lse_rows[r]); vdi[r] = splat(di[r]); }
    for (int64_t c = 0; c < nc; c++) {
        vf s[R] = {}, dp[R] = {};
        for (int64_t d = 0; d < D; d++) {
            const vf k = load(K.xt + d * tp + c * W), v = load(V.xt + d * tp + c * W);
            for (int r = 0; r < R; r++) { s[r] += splat(qs[r * D + d]) * k; dp[r] += splat(g[r * D + d]) * v; }
        }
        const vf j = iota(c * W);
        const bool diagonal = c == nc - 1;  // the only vector with keys after the rows'
        for (int r = 0; r < R; r++) {
            // future keys masked before the exponential: their s - lse can be large and positive
            vf x = s[r] - li[r];
            if (diagonal) x = j <= row[r] ? x : splat(-INFINITY);
            vf e = vexp(x);
            if (diagonal) e = j <= row[r] ? e : splat(0.0f);
            store(P + r * tp + c * W, e);
            store(S + r * tp + c * W, e * (dp[r] - vdi[r]));
        }
    }
    for (int64_t c = 0; c < nc; c++) {
        vf p[R], ds[R];
        for (int r = 0; r < R; r++) { p[r] = load(P + r * tp + c * W); ds[r] = load(S + r * tp + c * W); }
        for (int64_t d = 0; d < D; d++) {
            vf dk = load(dKt + d * tp + c * W), dv = load(dVt + d * tp + c * W);
            for (int r = 0; r < R; r++) { dk += ds[r] * splat(qs[r * D + d]); dv += p[r] * splat(g[r * D + d]); }
            store(dKt + d * tp + c * W, dk);
            store(dVt + d * tp + c * W, dv);
        }
    }
    float f[R];
    for (int r = 0; r < R; r++) f[r] = scale;
    weighted_sum<R, NV>(S, tp, K, nc, D, f, dq_rows);
}

// query rows per block: 8 took 0.39-0.42 ms against 0.43-0.45 with 4 at 12 channels, 0.75-0.86 against
// 0.88-0.90 at 29 (a layer's forward and backward, the study's shape)
enum { R = 8 };
// a block of R rows starting at a multiple of R lies in one vector of W keys: only the last vector a block
// reads holds keys after its rows (forward_rows and backward_rows mask no other)
static_assert(W % R == 0, "R must divide W");

template <int NV>
static void forward_heads(const float* q, const float* k, const float* v, Strides sq, Strides sk, Strides sv,
                          float* o, float* lse, int64_t H, int64_t T, int64_t D, float scale, int64_t bh0,
                          int64_t bh1) {
    const int64_t tp = (T + W - 1) / W * W, dp = NV * W;
    float* buf = scratch(4 * tp * dp + R * tp + R * D);
    Head K{buf, buf + tp * dp}, V{buf + 2 * tp * dp, buf + 3 * tp * dp};
    float *P = buf + 4 * tp * dp, *qs = P + R * tp;
    std::memset(buf, 0, sizeof(float) * 4 * tp * dp);
    for (int64_t bh = bh0; bh < bh1; bh++) {
        const int64_t b = bh / H, h = bh % H;
        K.load<NV>(k, sk, bh, H, T, D, tp, dp, true, false);
        V.load<NV>(v, sv, bh, H, T, D, tp, dp, D <= HSUM_MAX_D, D > HSUM_MAX_D);
        const float* qh = q + b * sq.b + h * sq.h;
        for (int64_t i0 = 0; i0 < T;) {
            const int64_t rows = T - i0 >= R ? R : 1;
            float* o_rows[R];
            for (int64_t r = 0; r < rows; r++) {
                for (int64_t d = 0; d < D; d++) qs[r * D + d] = qh[(i0 + r) * sq.t + d] * scale;
                o_rows[r] = o + ((b * T + i0 + r) * H + h) * D;
            }
            const int64_t nc = i0 / W + 1;
            if (rows == R) forward_rows<R, NV>(i0, nc, qs, K, V, tp, D, P, o_rows, lse + bh * T + i0);
            else forward_rows<1, NV>(i0, nc, qs, K, V, tp, D, P, o_rows, lse + bh * T + i0);
            i0 += rows;
        }
    }
    std::free(buf);
}

template <int NV>
static void backward_heads(const float* q, const float* k, const float* v, const float* o, const float* lse,
                           const float* do_, Strides sq, Strides sk, Strides sv, Strides sg, float* dq, float* dk,
                           float* dv, int64_t H, int64_t T, int64_t D, float scale, int64_t bh0, int64_t bh1) {
    const int64_t tp = (T + W - 1) / W * W, dp = NV * W;
    float* buf = scratch(4 * tp * dp + 2 * D * tp + 2 * R * tp + 2 * R * D + R);
    Head K{buf, buf + tp * dp}, V{buf + 2 * tp * dp, buf + 3 * tp * dp};
    float *dKt = buf + 4 * tp * dp, *dVt = dKt + D * tp, *P = dVt + D * tp, *S = P + R * tp;
    float *qs = S + R * tp, *g = qs + R * D, *di = g + R * D;
    std::memset(buf, 0, sizeof(float) * 4 * tp * dp);
    for (int64_t bh = bh0; bh < bh1; bh++) {
        const int64_t b = bh / H, h = bh % H;
        // K as channel rows (scores; dq up to HSUM_MAX_D) and as key rows (dq above), V as channel rows (dp)
        K.load<NV>(k, sk, bh, H, T, D, tp, dp, true, D > HSUM_MAX_D);
        V.load<NV>(v, sv, bh, H, T, D, tp, dp, true, false);
        std::memset(dKt, 0, sizeof(float) * 2 * D * tp);
        const float *qh = q + b * sq.b + h * sq.h, *gh = do_ + b * sg.b + h * sg.h;
        for (int64_t i0 = 0; i0 < T;) {
            const int64_t rows = T - i0 >= R ? R : 1;
            float* dq_rows[R];
            for (int64_t r = 0; r < rows; r++) {
                const int64_t i = i0 + r;
                const float *oi = o + ((b * T + i) * H + h) * D, *gi = gh + i * sg.t;
                float acc = 0;
                for (int64_t d = 0; d < D; d++) {
                    qs[r * D + d] = qh[i * sq.t + d] * scale;
                    g[r * D + d] = gi[d];
                    acc += gi[d] * oi[d];
                }
                di[r] = acc;
                dq_rows[r] = dq + ((b * T + i) * H + h) * D;
            }
            const int64_t nc = i0 / W + 1;
            const float* lse_rows = lse + bh * T + i0;
            if (rows == R)
                backward_rows<R, NV>(i0, nc, qs, g, di, lse_rows, K, V, dKt, dVt, tp, D, scale, P, S, dq_rows);
            else
                backward_rows<1, NV>(i0, nc, qs, g, di, lse_rows, K, V, dKt, dVt, tp, D, scale, P, S, dq_rows);
            i0 += rows;
        }
        for (int64_t t = 0; t < T; t++)
            for (int64_t d = 0; d < D; d++) {
                dk[((b * T + t) * H + h) * D + d] = dKt[d * tp + t];
                dv[((b * T + t) * H + h) * D + d] = dVt[d * tp + t];
            }
    }
    std::free(buf);
}

using torch::stable::Tensor;

static Strides strides_of(const Tensor& x) {
    int64_t extent = 1;
    for (int i = 0; i < 4; i++) extent += (x.size(i) - 1) * x.stride(i);
    return {x.stride(0), x.stride(1), x.stride(2), extent};
}

// q, k or v: float32 on a CPU, of q's shape, channels adjacent
static void check(const Tensor& x, const Tensor& q, const char* name) {
    STD_TORCH_CHECK(x.is_cpu() && x.scalar_type() == torch::headeronly::ScalarType::Float && x.dim() == 4,
                    "causal_attention: ", name, " must be a 4-d float32 CPU tensor");
    for (int i = 0; i < 4; i++)
        STD_TORCH_CHECK(x.size(i) == q.size(i), "causal_attention: ", name, " and q differ in shape");
    STD_TORCH_CHECK(x.stride(3) == 1, "causal_attention: ", name, "'s channels must be adjacent (stride 1)");
}

// q, k, v: (B,H,T,D), any strides with adjacent channels -> o (B,T,H,D) and lse (B,H,T), contiguous
std::tuple<Tensor, Tensor> causal_attention(Tensor q, Tensor k, Tensor v) {
    check(q, q, "q"); check(k, q, "k"); check(v, q, "v");
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    STD_TORCH_CHECK(D >= 1 && D <= 4 * W, "causal_attention: head size must be in [1, ", 4 * W, "], got ", D);
    Tensor o = new_floats({B, T, H, D}), lse = new_floats({B, H, T});
    auto heads = D <= W ? forward_heads<1> : D <= 2 * W ? forward_heads<2> : forward_heads<4>;
    const float *pq = (const float*)q.const_data_ptr(), *pk = (const float*)k.const_data_ptr(),
                *pv = (const float*)v.const_data_ptr();
    float *po = (float*)o.mutable_data_ptr(), *plse = (float*)lse.mutable_data_ptr();
    const float scale = 1.0f / std::sqrt((float)D);
    const Strides sq = strides_of(q), sk = strides_of(k), sv = strides_of(v);
    // each (batch, head) is computed whole by one thread: the result does not depend on the split
    torch::stable::parallel_for(0, B * H, 1, [&](int64_t bh0, int64_t bh1) {
        heads(pq, pk, pv, sq, sk, sv, po, plse, H, T, D, scale, bh0, bh1);
    });
    return {o, lse};
}

// the forward's q, k, v, o and lse and do (B,T,H,D), channels adjacent -> dq, dk, dv (B,T,H,D), contiguous: the
// layout of the projection that made q, k and v, whose gradient they are copied into
std::tuple<Tensor, Tensor, Tensor> causal_attention_backward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
                                                             Tensor do_) {
    check(q, q, "q"); check(k, q, "k"); check(v, q, "v");
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    STD_TORCH_CHECK(D >= 1 && D <= 4 * W, "causal_attention: head size must be in [1, ", 4 * W, "], got ", D);
    const auto f32 = torch::headeronly::ScalarType::Float;
    const bool same = o.is_cpu() && lse.is_cpu() && o.scalar_type() == f32 && lse.scalar_type() == f32 &&
                      o.is_contiguous() && lse.is_contiguous() && o.dim() == 4 && lse.dim() == 3 && o.size(0) == B &&
                      o.size(1) == T && o.size(2) == H && o.size(3) == D && lse.size(0) == B && lse.size(1) == H &&
                      lse.size(2) == T;
    STD_TORCH_CHECK(same, "causal_attention_backward: o and lse must be the forward's outputs");
    STD_TORCH_CHECK(do_.is_cpu() && do_.scalar_type() == f32 && do_.dim() == 4 && do_.size(0) == B &&
                    do_.size(1) == T && do_.size(2) == H && do_.size(3) == D && do_.stride(3) == 1,
                    "causal_attention_backward: do must be a (B, T, H, D) float32 CPU tensor, channels adjacent");
    Tensor dq = new_floats({B, T, H, D}), dk = new_floats({B, T, H, D}), dv = new_floats({B, T, H, D});
    auto heads = D <= W ? backward_heads<1> : D <= 2 * W ? backward_heads<2> : backward_heads<4>;
    const float *pq = (const float*)q.const_data_ptr(), *pk = (const float*)k.const_data_ptr(),
                *pv = (const float*)v.const_data_ptr(), *po = (const float*)o.const_data_ptr(),
                *plse = (const float*)lse.const_data_ptr(), *pg = (const float*)do_.const_data_ptr();
    float *pdq = (float*)dq.mutable_data_ptr(), *pdk = (float*)dk.mutable_data_ptr(),
          *pdv = (float*)dv.mutable_data_ptr();
    const float scale = 1.0f / std::sqrt((float)D);
    const Strides sq = strides_of(q), sk = strides_of(k), sv = strides_of(v);
    Strides sg = strides_of(do_);  // read as (B, H, T, D)
    std::swap(sg.h, sg.t);
    torch::stable::parallel_for(0, B * H, 1, [&](int64_t bh0, int64_t bh1) {
        heads(pq, pk, pv, po, plse, pg, sq, sk, sv, sg, pdq, pdk, pdv, H, T, D, scale, bh0, bh1);
    });
    return {dq, dk, dv};
}

STABLE_TORCH_LIBRARY_IMPL(replication, CPU, m) {
    m.impl("causal_attention", TORCH_BOX(&causal_attention));
    m.impl("causal_attention_backward", TORCH_BOX(&causal_attention_backward));
}
