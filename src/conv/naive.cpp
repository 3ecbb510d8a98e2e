#include "znn/conv/naive.hpp"

namespace znn::conv::naive {
namespace {

// Index of input voxel p + (K−1−k)·s along one axis.
inline std::int64_t tap(std::int64_t p, std::int64_t k, std::int64_t kernel, std::int64_t dilation)
{
    return p + (kernel - 1 - k) * dilation;
}

}  // namespace

template <class T>
void forward(const ConvProblem& p, TensorView<const T> in, TensorView<const T> w, TensorView<T> out, Accumulate mode)
{
    const Vec3i O = p.out_size(), K = p.kernel, s = p.dilation;
    for (std::int64_t b = 0; b < p.batch; ++b)
        for (std::int64_t o = 0; o < p.out_channels; ++o)
            for (std::int64_t z = 0; z < O.z; ++z)
                for (std::int64_t y = 0; y < O.y; ++y)
                    for (std::int64_t x = 0; x < O.x; ++x) {
                        T sum = 0;
                        for (std::int64_t i = 0; i < p.in_channels; ++i)
                            for (std::int64_t kz = 0; kz < K.z; ++kz)
                                for (std::int64_t ky = 0; ky < K.y; ++ky)
                                    for (std::int64_t kx = 0; kx < K.x; ++kx)
                                        sum += in(b * p.in_channels + i, tap(z, kz, K.z, s.z), tap(y, ky, K.y, s.y),
                                                  tap(x, kx, K.x, s.x)) *
                                               w(o * p.in_channels + i, kz, ky, kx);
                        T& dst = out(b * p.out_channels + o, z, y, x);
                        dst = mode == Accumulate::Add ? dst + sum : sum;
                    }
}

template <class T>
void backward_data(const ConvProblem& p, TensorView<const T> grad_out, TensorView<const T> w, TensorView<T> grad_in,
                   Accumulate mode)
{
    // Scatter form of d out / d in: each output gradient voxel feeds every input voxel its kernel saw.
    if (mode == Accumulate::Overwrite) tensor::fill(grad_in, T(0));
    const Vec3i O = p.out_size(), K = p.kernel, s = p.dilation;
    for (std::int64_t b = 0; b < p.batch; ++b)
        for (std::int64_t o = 0; o < p.out_channels; ++o)
            for (std::int64_t z = 0; z < O.z; ++z)
                for (std::int64_t y = 0; y < O.y; ++y)
                    for (std::int64_t x = 0; x < O.x; ++x) {
                        const T g = grad_out(b * p.out_channels + o, z, y, x);
                        for (std::int64_t i = 0; i < p.in_channels; ++i)
                            for (std::int64_t kz = 0; kz < K.z; ++kz)
                                for (std::int64_t ky = 0; ky < K.y; ++ky)
                                    for (std::int64_t kx = 0; kx < K.x; ++kx)
                                        grad_in(b * p.in_channels + i, tap(z, kz, K.z, s.z), tap(y, ky, K.y, s.y),
                                                tap(x, kx, K.x, s.x)) += g * w(o * p.in_channels + i, kz, ky, kx);
                    }
}

template <class T>
void backward_weights(const ConvProblem& p, TensorView<const T> in, TensorView<const T> grad_out, TensorView<T> grad_w,
                      Accumulate mode)
{
    const Vec3i O = p.out_size(), K = p.kernel, s = p.dilation;
    for (std::int64_t o = 0; o < p.out_channels; ++o)
        for (std::int64_t i = 0; i < p.in_channels; ++i)
            for (std::int64_t kz = 0; kz < K.z; ++kz)
                for (std::int64_t ky = 0; ky < K.y; ++ky)
                    for (std::int64_t kx = 0; kx < K.x; ++kx) {
                        T sum = 0;
                        for (std::int64_t b = 0; b < p.batch; ++b)
                            for (std::int64_t z = 0; z < O.z; ++z)
                                for (std::int64_t y = 0; y < O.y; ++y)
                                    for (std::int64_t x = 0; x < O.x; ++x)
                                        sum += grad_out(b * p.out_channels + o, z, y, x) *
                                               in(b * p.in_channels + i, tap(z, kz, K.z, s.z), tap(y, ky, K.y, s.y),
                                                  tap(x, kx, K.x, s.x));
                        T& dst = grad_w(o * p.in_channels + i, kz, ky, kx);
                        dst = mode == Accumulate::Add ? dst + sum : sum;
                    }
}

template <class T>
void max_forward(TensorView<const T> in, const MaxWindow& w, TensorView<T> out, TensorView<std::int32_t> argmax)
{
    const Vec3i O = out.size(), I = in.size();
    for (std::int64_t c = 0; c < out.channels(); ++c)
        for (std::int64_t z = 0; z < O.z; ++z)
            for (std::int64_t y = 0; y < O.y; ++y)
                for (std::int64_t x = 0; x < O.x; ++x) {
                    T best = 0;
                    std::int64_t at = -1;
                    for (std::int64_t kz = 0; kz < w.window.z; ++kz)
                        for (std::int64_t ky = 0; ky < w.window.y; ++ky)
                            for (std::int64_t kx = 0; kx < w.window.x; ++kx) {
                                const std::int64_t iz = z * w.stride.z + kz * w.dilation.z, iy = y * w.stride.y + ky * w.dilation.y,
                                                   ix = x * w.stride.x + kx * w.dilation.x;
                                const T v = in(c, iz, iy, ix);
                                if (at < 0 || v > best) {
                                    best = v;
                                    at = (iz * I.y + iy) * I.x + ix;
                                }
                            }
                    out(c, z, y, x) = best;
                    argmax(c, z, y, x) = static_cast<std::int32_t>(at);
                }
}

template <class T>
void max_backward(TensorView<const T> grad_out, TensorView<const std::int32_t> argmax, TensorView<T> grad_in, Accumulate mode)
{
    if (mode == Accumulate::Overwrite) tensor::fill(grad_in, T(0));
    const Vec3i O = grad_out.size(), I = grad_in.size();
    for (std::int64_t c = 0; c < grad_out.channels(); ++c)
        for (std::int64_t z = 0; z < O.z; ++z)
            for (std::int64_t y = 0; y < O.y; ++y)
                for (std::int64_t x = 0; x < O.x; ++x) {
                    const std::int64_t at = argmax(c, z, y, x);
                    grad_in(c, at / (I.y * I.x), (at / I.x) % I.y, at % I.x) += grad_out(c, z, y, x);
                }
}

template void max_forward<float>(TensorView<const float>, const MaxWindow&, TensorView<float>, TensorView<std::int32_t>);
template void max_forward<double>(TensorView<const double>, const MaxWindow&, TensorView<double>, TensorView<std::int32_t>);
template void max_backward<float>(TensorView<const float>, TensorView<const std::int32_t>, TensorView<float>, Accumulate);
template void max_backward<double>(TensorView<const double>, TensorView<const std::int32_t>, TensorView<double>, Accumulate);

template void forward<float>(const ConvProblem&, TensorView<const float>, TensorView<const float>, TensorView<float>,
                             Accumulate);
template void forward<double>(const ConvProblem&, TensorView<const double>, TensorView<const double>,
                              TensorView<double>, Accumulate);
template void backward_data<float>(const ConvProblem&, TensorView<const float>, TensorView<const float>,
                                   TensorView<float>, Accumulate);
template void backward_data<double>(const ConvProblem&, TensorView<const double>, TensorView<const double>,
                                    TensorView<double>, Accumulate);
template void backward_weights<float>(const ConvProblem&, TensorView<const float>, TensorView<const float>,
                                      TensorView<float>, Accumulate);
template void backward_weights<double>(const ConvProblem&, TensorView<const double>, TensorView<const double>,
                                       TensorView<double>, Accumulate);

}  // namespace znn::conv::naive
