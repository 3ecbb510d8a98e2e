#include "znn/infer/tta.hpp"

#include <algorithm>

#include "znn/core/error.hpp"

namespace znn::infer {
namespace {

using core::Vec3i;

/// Whether variant v flips axis a (0 z, 1 y, 2 x).
bool flips(int v, int a)
{
    return ((v >> (2 - a)) & 1) != 0;
}
bool is_transposed(int v)
{
    return (v & 8) != 0;
}

/// The affinity channel's axis: channels are x, y, z.
int axis_of_channel(std::int64_t c)
{
    return static_cast<int>(2 - c);
}

/// Where voxel q of the original orientation lies in variant v's orientation (size n, square in y, x
/// when transposing).
Vec3i to_variant(Vec3i q, int v, const Vec3i& n)
{
    if (is_transposed(v)) std::swap(q.y, q.x);
    for (int a = 0; a < 3; ++a)
        if (flips(v, a)) q[a] = n[a] - 1 - q[a];
    return q;
}

}  // namespace

bool TtaPlan::enlarged() const
{
    if (!affinity) return false;
    return std::any_of(variants.begin(), variants.end(), [](int v) { return (v & 7) != 0; });
}

bool TtaPlan::transposes() const
{
    return std::any_of(variants.begin(), variants.end(), [](int v) { return is_transposed(v); });
}

void transform_input(tensor::TensorView<const float> src, int v, tensor::TensorView<float> dst)
{
    const Vec3i n = src.size();
    ZNN_CHECK(dst.channels() == src.channels() && dst.size() == (is_transposed(v) ? Vec3i{n.z, n.x, n.y} : n),
              "transform_input: shapes differ");
    ZNN_CHECK(!is_transposed(v) || n.y == n.x, "transform_input: transposing needs square y, x");
    for (std::int64_t c = 0; c < src.channels(); ++c)
        for (std::int64_t z = 0; z < n.z; ++z)
            for (std::int64_t y = 0; y < n.y; ++y) {
                const float* row = src.row(c, z, y);
                for (std::int64_t x = 0; x < n.x; ++x) {
                    const Vec3i p = to_variant({z, y, x}, v, n);
                    dst.row(c, p.z, p.y)[p.x] = row[x];
                }
            }
}

void TtaPlan::accumulate(tensor::TensorView<const float> out, int v, tensor::TensorView<float> acc, bool first) const
{
    const Vec3i n = out.size();  // the network's block, in variant v's orientation (square y, x if transposed)
    const Vec3i W = acc.size();
    const std::int64_t base = enlarged() ? 1 : 0;
    ZNN_CHECK(out.channels() == acc.channels() && n == W + base, "TtaPlan::accumulate: shapes differ");
    for (std::int64_t c = 0; c < acc.channels(); ++c) {
        std::int64_t c_variant = c;
        Vec3i shift{0, 0, 0};
        if (affinity && acc.channels() == 3) {
            const int a = axis_of_channel(c);
            // The axis this channel's edges run along in the variant's orientation.
            const int a_variant = is_transposed(v) && a != 0 ? 3 - a : a;
            if (is_transposed(v) && c < 2) c_variant = 1 - c;
            if (flips(v, a_variant)) shift[a] = 1;
        }
        for (std::int64_t z = 0; z < W.z; ++z)
            for (std::int64_t y = 0; y < W.y; ++y) {
                float* dst = acc.row(c, z, y);
                for (std::int64_t x = 0; x < W.x; ++x) {
                    const Vec3i q = Vec3i{z, y, x} + base - shift;
                    const Vec3i p = to_variant(q, v, n);
                    const float value = out.row(c_variant, p.z, p.y)[p.x];
                    if (first)
                        dst[x] = value;
                    else if (combine == TtaCombine::Mean)
                        dst[x] += value;
                    else if (combine == TtaCombine::Min)
                        dst[x] = std::min(dst[x], value);
                    else
                        dst[x] = std::max(dst[x], value);
                }
            }
    }
}

void TtaPlan::finish(tensor::TensorView<float> acc) const
{
    if (combine != TtaCombine::Mean || variants.size() == 1) return;
    const float inv = 1.0f / static_cast<float>(variants.size());
    for (std::int64_t c = 0; c < acc.channels(); ++c)
        for (std::int64_t z = 0; z < acc.size().z; ++z)
            for (std::int64_t y = 0; y < acc.size().y; ++y) {
                float* row = acc.row(c, z, y);
                for (std::int64_t x = 0; x < acc.size().x; ++x)
                    row[x] *= inv;
            }
}

}  // namespace znn::infer
