// GELU with its slope on a CPU: the CPU kernel of the op replication::gelu (defined, built and loaded by
// replication/training/kernels.py; autograd in gelu.py), through torch's stable C++ interface.
//
// y = x Phi(x) and dy/dx = Phi(x) + x phi(x), with Phi(x) = (1 + erf(x / sqrt 2)) / 2 and erf as Abramowitz and
// Stegun's formula 7.1.26 (absolute error below 1.5e-7), which PyTorch's vectorized erf computes too. That
// formula's exponential, exp(-x^2 / 2), is also the density's, so one exponential gives y and its slope; the
// backward is then one multiplication. The compiled step computed erf's exponential in the forward and the
// backward, and the density's in the backward: three calls of Sleef's exp per element.

#include <cstdint>
#include <cstring>
#include <tuple>

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>

#include "kernels.h"

// elements i0..i1-1 of x: y and the slope
static void gelu_range(const float* x, float* y, float* slope, int64_t i0, int64_t i1) {
    const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f,
                a5 = 1.061405429f;
    int64_t i = i0;
    for (; i + W <= i1; i += W) {
        const vf xv = load(x + i), z = xv * splat(0.7071067811865476f);
        const vf az = z < splat(0.0f) ? -z : z;
        const vf t = splat(1.0f) / (splat(p) * az + splat(1.0f));
        const vf r = (((splat(a5) * t + splat(a4)) * t + splat(a3)) * t + splat(a2)) * t + splat(a1);
        const vf e = vexp(-(z * z));                            // exp(-x^2 / 2)
        const vf q = t * r * e;                                 // 1 - erf(|z|)
        const vf cdf2 = z < splat(0.0f) ? q : splat(2.0f) - q;  // 1 + erf(z), without cancelling below 0
        store(y + i, splat(0.5f) * xv * cdf2);
        store(slope + i, splat(0.5f) * cdf2 + xv * e * splat(0.3989422804014327f));  // + x / sqrt(2 pi) e
    }
    if (i < i1) {  // the last, partial vector, through a zero-padded copy
        float xs[W] = {}, ys[W], ss[W];
        std::memcpy(xs, x + i, sizeof(float) * (i1 - i));
        gelu_range(xs, ys, ss, 0, W);
        std::memcpy(y + i, ys, sizeof(float) * (i1 - i));
        std::memcpy(slope + i, ss, sizeof(float) * (i1 - i));
    }
}

using torch::stable::Tensor;

// x: float32 on a CPU, contiguous -> y and dy/dx, of x's shape
std::tuple<Tensor, Tensor> gelu(Tensor x) {
    STD_TORCH_CHECK(x.is_cpu() && x.scalar_type() == torch::headeronly::ScalarType::Float && x.is_contiguous(),
                    "gelu: x must be a contiguous float32 CPU tensor");
    STD_TORCH_CHECK(x.dim() <= 8, "gelu: x must have at most 8 dimensions");
    int64_t sizes[8];
    for (int64_t i = 0; i < x.dim(); i++) sizes[i] = x.size(i);
    Tensor y = new_floats(sizes, x.dim()), slope = new_floats(sizes, x.dim());
    const int64_t n = x.numel();
    const float* px = (const float*)x.const_data_ptr();
    float *py = (float*)y.mutable_data_ptr(), *ps = (float*)slope.mutable_data_ptr();
    // elementwise: the result does not depend on how the vectors are split between threads
    torch::stable::parallel_for(0, (n + W - 1) / W, 2048, [&](int64_t v0, int64_t v1) {
        gelu_range(px, py, ps, v0 * W, v1 * W < n ? v1 * W : n);
    });
    return {y, slope};
}

STABLE_TORCH_LIBRARY_IMPL(replication, CPU, m) {
    m.impl("gelu", TORCH_BOX(&gelu));
}
