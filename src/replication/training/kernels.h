// What the CPU kernels (causal_attention.cpp, gelu.cpp) share: vectors of W floats as GCC vector extensions
// (lowered to the machine's widest registers) and what they compute with them (loads, stores, broadcasts,
// horizontal sums and maxima, exp and log); new output tensors.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include <torch/csrc/stable/tensor.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
enum { W = 16 };

static inline vf splat(float x) {  // a broadcast (vf{} + x would add 0 to x first)
    return vf{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}
static inline vf load(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
static inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
template <class H, class V> static inline void halves(V v, H& lo, H& hi) {
    std::memcpy(&lo, &v, sizeof lo); std::memcpy(&hi, (const char*)&v + sizeof lo, sizeof hi);
}
static inline float hsum(vf v) {
    v8 a, b; halves(v, a, b); a += b;
    v4 c, d; halves(a, c, d); c += d;
    return (c[0] + c[2]) + (c[1] + c[3]);
}
static inline float hmax(vf v) {
    v8 a, b; halves(v, a, b); a = a > b ? a : b;
    v4 c, d; halves(a, c, d); c = c > d ? c : d;
    float x = c[0] > c[2] ? c[0] : c[2], y = c[1] > c[3] ? c[1] : c[3];
    return x > y ? x : y;
}

// exp(x) for x <= 0 (Cephes' expf: range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial, about 1 ulp);
// below -87.3 it returns exp(-87.3), which is negligible in every sum it enters here
static inline vf vexp(vf x) {
    x = x < splat(-87.3f) ? splat(-87.3f) : x;
    const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
    vf n = (x * splat(1.44269504088896341f) + magic) - magic;
    vf r = x - n * splat(0.693359375f) - n * splat(-2.12194440e-4f);
    vf p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return p * (vf)e;
}

// log(x) for normal x > 0, and NaN for NaN (Cephes' logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a
// degree-8 polynomial in m - 1, about 1 ulp)
static inline vf vlog(vf x) {
    const vi bits = (vi)x;
    vi e = ((bits >> 23) & 0xff) - 126;
    vf m = (vf)((bits & 0x007fffff) | 0x3f000000);  // in [1/2, 1)
    const vi small = m < splat(0.707106781186547524f);
    e += small;  // -1 where m is doubled below
    m = small ? m + m - splat(1.0f) : m - splat(1.0f);
    const vf z = m * m;
    vf y = splat(7.0376836292e-2f);
    y = y * m + splat(-1.1514610310e-1f);
    y = y * m + splat(1.1676998740e-1f);
    y = y * m + splat(-1.2420140846e-1f);
    y = y * m + splat(1.4249322787e-1f);
    y = y * m + splat(-1.6668057665e-1f);
    y = y * m + splat(2.0000714765e-1f);
    y = y * m + splat(-2.4999993993e-1f);
    y = y * m + splat(3.3333331174e-1f);
    const vf fe = __builtin_convertvector(e, vf);
    y = y * m * z + fe * splat(-2.12194440e-4f) - splat(0.5f) * z;
    const vf log_x = m + y + fe * splat(0.693359375f);
    return x == x ? log_x : x;
}

static const vf lanes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static inline vf iota(int64_t base) { return lanes + splat((float)base); }

// A new contiguous float32 CPU tensor of n sizes (at most 8), through the shim's empty_strided, as compiled
// graphs allocate: torch::stable::new_empty goes through the dispatcher (3-4 us a call, against about 1 us).
static inline torch::stable::Tensor new_floats(const int64_t* size, int64_t n) {
    STD_TORCH_CHECK(n <= 8, "new_floats: at most 8 dimensions");
    int64_t strides[8], stride = 1;
    for (int64_t i = n - 1; i >= 0; i--) { strides[i] = stride; stride *= size[i]; }
    AtenTensorHandle handle;
    STD_TORCH_CHECK(aoti_torch_empty_strided(n, size, strides, aoti_torch_dtype_float32(), aoti_torch_device_type_cpu(),
                                             0, &handle) == AOTI_TORCH_SUCCESS,
                    "new_floats: cannot allocate the output");
    return torch::stable::Tensor(handle);
}
static inline torch::stable::Tensor new_floats(std::initializer_list<int64_t> sizes) {
    return new_floats(sizes.begin(), (int64_t)sizes.size());
}
