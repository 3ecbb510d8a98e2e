// The direct convolution engine: register-tiled, vectorised along x, threaded over output rows.
//
// All three passes are "correlations" out(p) = Σ_c Σ_m src_c(p + m·s) · w[c](m):
//  - forward: src = input, w = the kernel flipped (true convolution), dst = output;
//  - backward data: src = the output gradient zero-padded by (K−1)·s, w = the kernel unflipped with
//    input and output maps swapped, dst = the input gradient;
//  - backward weights: a reduction over all output voxels, with its own kernel below.
// A forward tile is 4 output maps × 3 vectors of 8 x-positions (12 accumulators); every input
// vector feeds 4 FMAs and every broadcast weight 3, so each FMA needs about 0.6 loads.

#include <algorithm>
#include <vector>

#include "engines.hpp"
#include "simd.hpp"
#include "znn/core/aligned.hpp"

namespace znn::conv {
namespace {

using simd::Vec8;

constexpr int kTileMaps = 4;     // R: output maps per forward tile
constexpr int kTileVectors = 3;  // XV: vectors of 8 x-positions per forward tile

/// A strided 4D array of one batch image group: channel c of image b is at data + (b·C + c)·cs.
struct Planes {
    const float* data = nullptr;
    std::int64_t channels = 0;  // per image
    Vec3i size;
    std::int64_t cs = 0, zs = 0, ys = 0;  // strides

    static Planes of(TensorView<const float> v, std::int64_t channels_per_image)
    {
        return {v.data(), channels_per_image, v.size(), v.strides().c, v.strides().z, v.strides().y};
    }
    const float* row(std::int64_t b, std::int64_t c, std::int64_t z, std::int64_t y) const
    {
        return data + (b * channels + c) * cs + z * zs + y * ys;
    }
};

struct CorrArgs {
    Planes src;
    const float* packed = nullptr;  // [dst map block][src map][mz][my][mx][kTileMaps]
    TensorView<float> dst;
    std::int64_t dst_channels = 0;  // per image
    Vec3i taps;
    Vec3i dilation;
    bool accumulate = false;
};

/// One tile: kTileMaps dst maps (the first `maps` valid) × XV vectors at (b, z, y, x0); the last
/// vector has `tail` valid lanes when MASK.
template <int XV, bool MASK>
void corr_tile(const CorrArgs& a, std::int64_t b, std::int64_t block, std::int64_t z, std::int64_t y, std::int64_t x0,
               int maps, int tail)
{
    Vec8 acc[kTileMaps][XV];
    float* out[kTileMaps];
    for (int r = 0; r < kTileMaps; ++r) {
        out[r] = r < maps ? a.dst.row(b * a.dst_channels + block * kTileMaps + r, z, y) + x0 : nullptr;
        for (int j = 0; j < XV; ++j) {
            const bool last = MASK && j == XV - 1;
            acc[r][j] = (a.accumulate && r < maps) ? (last ? simd::load_first(out[r] + 8 * j, tail) : simd::load(out[r] + 8 * j))
                                                    : simd::zero();
        }
    }
    const std::int64_t taps = a.taps.product();
    const float* wp = a.packed + block * a.src.channels * taps * kTileMaps;
    for (std::int64_t c = 0; c < a.src.channels; ++c) {
        for (std::int64_t mz = 0; mz < a.taps.z; ++mz)
            for (std::int64_t my = 0; my < a.taps.y; ++my) {
                const float* srow = a.src.row(b, c, z + mz * a.dilation.z, y + my * a.dilation.y) + x0;
                for (std::int64_t mx = 0; mx < a.taps.x; ++mx, wp += kTileMaps) {
                    const float* sp = srow + mx * a.dilation.x;
                    Vec8 v[XV];
                    for (int j = 0; j < XV; ++j)
                        v[j] = (MASK && j == XV - 1) ? simd::load_first(sp + 8 * j, tail) : simd::load(sp + 8 * j);
                    for (int r = 0; r < kTileMaps; ++r) {
                        const Vec8 w = simd::broadcast(wp + r);
                        for (int j = 0; j < XV; ++j) acc[r][j] = simd::fmadd(w, v[j], acc[r][j]);
                    }
                }
            }
    }
    for (int r = 0; r < maps; ++r)
        for (int j = 0; j < XV; ++j) {
            if (MASK && j == XV - 1)
                simd::store_first(out[r] + 8 * j, acc[r][j], tail);
            else
                simd::store(out[r] + 8 * j, acc[r][j]);
        }
}

/// All x of one dst row for one block of maps.
void corr_row(const CorrArgs& a, std::int64_t b, std::int64_t block, std::int64_t z, std::int64_t y)
{
    const std::int64_t width = a.dst.size().x;
    const int maps = static_cast<int>(std::min<std::int64_t>(kTileMaps, a.dst_channels - block * kTileMaps));
    std::int64_t x0 = 0;
    for (; x0 + 8 * kTileVectors <= width; x0 += 8 * kTileVectors) corr_tile<kTileVectors, false>(a, b, block, z, y, x0, maps, 8);
    const std::int64_t rest = width - x0;
    if (rest == 0) return;
    const int vectors = static_cast<int>((rest + 7) / 8);
    const int tail = static_cast<int>(rest - 8 * (vectors - 1));
    if (vectors == 1) corr_tile<1, true>(a, b, block, z, y, x0, maps, tail);
    if (vectors == 2) corr_tile<2, true>(a, b, block, z, y, x0, maps, tail);
    if (vectors == 3) corr_tile<3, true>(a, b, block, z, y, x0, maps, tail);
}

void correlate(const CorrArgs& a, std::int64_t batch, core::ParallelFor& threads)
{
    const Vec3i D = a.dst.size();
    const std::int64_t blocks = (a.dst_channels + kTileMaps - 1) / kTileMaps;
    const std::int64_t rows = D.z * D.y;
    const std::int64_t items = batch * blocks * rows;
    // Rows of one block run on one thread in order: consecutive rows share most of their source rows.
    threads.run(items, std::max<std::int64_t>(1, std::min<std::int64_t>(rows, 8)), [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t row = item % rows;
            const std::int64_t bb = item / rows;
            corr_row(a, bb / blocks, bb % blocks, row / D.y, row % D.y);
        }
    });
}

// ---- backward weights ----------------------------------------------------------------------------------

constexpr int kWeightMaps = 3;  // output maps per weight-gradient tile
constexpr int kWeightTaps = 4;  // x-taps per weight-gradient tile

struct WeightArgs {
    Planes in;        // (B·F_in, I)
    Planes grad_out;  // (B·F_out, O)
    Vec3i out_size;
    Vec3i kernel;
    Vec3i dilation;
    std::int64_t batch = 1;
};

/// Sums grad_out[o](p) · in[i](p + m·s) over all p for RO maps o and T consecutive x-taps m.x.
template <int RO, int T>
void weight_tile(const WeightArgs& a, std::int64_t o0, std::int64_t i, std::int64_t mz, std::int64_t my, std::int64_t mx0,
                 float (&result)[kWeightMaps][kWeightTaps])
{
    Vec8 acc[RO][T];
    for (auto& row : acc)
        for (auto& v : row) v = simd::zero();
    const Vec3i& O = a.out_size;
    const std::int64_t full = O.x / 8;
    const int tail = static_cast<int>(O.x % 8);
    for (std::int64_t b = 0; b < a.batch; ++b)
        for (std::int64_t z = 0; z < O.z; ++z)
            for (std::int64_t y = 0; y < O.y; ++y) {
                const float* g[RO];
                for (int r = 0; r < RO; ++r) g[r] = a.grad_out.row(b, o0 + r, z, y);
                const float* src = a.in.row(b, i, z + mz * a.dilation.z, y + my * a.dilation.y) + mx0 * a.dilation.x;
                for (std::int64_t j = 0; j < full; ++j) {
                    Vec8 gv[RO];
                    for (int r = 0; r < RO; ++r) gv[r] = simd::load(g[r] + 8 * j);
                    for (int t = 0; t < T; ++t) {
                        const Vec8 v = simd::load(src + t * a.dilation.x + 8 * j);
                        for (int r = 0; r < RO; ++r) acc[r][t] = simd::fmadd(gv[r], v, acc[r][t]);
                    }
                }
                if (tail > 0) {
                    Vec8 gv[RO];
                    for (int r = 0; r < RO; ++r) gv[r] = simd::load_first(g[r] + 8 * full, tail);
                    for (int t = 0; t < T; ++t) {
                        const Vec8 v = simd::load_first(src + t * a.dilation.x + 8 * full, tail);
                        for (int r = 0; r < RO; ++r) acc[r][t] = simd::fmadd(gv[r], v, acc[r][t]);
                    }
                }
            }
    for (int r = 0; r < RO; ++r)
        for (int t = 0; t < T; ++t) result[r][t] = simd::hsum(acc[r][t]);
}

template <int RO>
void weight_tile_taps(const WeightArgs& a, std::int64_t o0, std::int64_t i, std::int64_t mz, std::int64_t my,
                      std::int64_t mx0, int taps, float (&result)[kWeightMaps][kWeightTaps])
{
    switch (taps) {
    case 1: weight_tile<RO, 1>(a, o0, i, mz, my, mx0, result); break;
    case 2: weight_tile<RO, 2>(a, o0, i, mz, my, mx0, result); break;
    case 3: weight_tile<RO, 3>(a, o0, i, mz, my, mx0, result); break;
    default: weight_tile<RO, 4>(a, o0, i, mz, my, mx0, result); break;
    }
}

void weight_gradient(const WeightArgs& a, std::int64_t out_channels, std::int64_t in_channels, TensorView<float> grad_w,
                     bool accumulate, core::ParallelFor& threads)
{
    const Vec3i K = a.kernel;
    const std::int64_t blocks = (out_channels + kWeightMaps - 1) / kWeightMaps;
    threads.run(blocks * in_channels, 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t block = item / in_channels;
            const std::int64_t i = item % in_channels;
            const std::int64_t o0 = block * kWeightMaps;
            const int maps = static_cast<int>(std::min<std::int64_t>(kWeightMaps, out_channels - o0));
            for (std::int64_t mz = 0; mz < K.z; ++mz)
                for (std::int64_t my = 0; my < K.y; ++my)
                    for (std::int64_t mx0 = 0; mx0 < K.x; mx0 += kWeightTaps) {
                        const int taps = static_cast<int>(std::min<std::int64_t>(kWeightTaps, K.x - mx0));
                        float result[kWeightMaps][kWeightTaps];
                        if (maps == 1) weight_tile_taps<1>(a, o0, i, mz, my, mx0, taps, result);
                        if (maps == 2) weight_tile_taps<2>(a, o0, i, mz, my, mx0, taps, result);
                        if (maps == 3) weight_tile_taps<3>(a, o0, i, mz, my, mx0, taps, result);
                        for (int r = 0; r < maps; ++r)
                            for (int t = 0; t < taps; ++t) {
                                // Tap m is kernel index K−1−m (the kernel is flipped).
                                float& dst = grad_w((o0 + r) * in_channels + i, K.z - 1 - mz, K.y - 1 - my, K.x - 1 - (mx0 + t));
                                dst = accumulate ? dst + result[r][t] : result[r][t];
                            }
                    }
        }
    });
}

// ---- the engine ---------------------------------------------------------------------------------------

class DirectEngine final : public ConvEngine {
public:
    DirectEngine(const ConvProblem& p, const ConvContext& context) : ConvEngine(p), threads_(context.threads) {}

    ConvAlgo algo() const noexcept override { return ConvAlgo::Direct; }

    void forward(TensorView<const float> in, const Weights& w, TensorView<float> out, Accumulate mode) override
    {
        check_shapes(in, out, w);
        const ConvProblem& p = problem();
        pack_forward(w);
        CorrArgs a;
        a.src = Planes::of(in, p.in_channels);
        a.packed = forward_packed_.data();
        a.dst = out;
        a.dst_channels = p.out_channels;
        a.taps = p.kernel;
        a.dilation = p.dilation;
        a.accumulate = mode == Accumulate::Add;
        correlate(a, p.batch, threads_);
    }

    void backward(TensorView<const float> in, TensorView<const float> grad_out, const Weights& w, const Gradients& grads,
                  Accumulate mode) override
    {
        check_shapes(in, grad_out, w);
        const ConvProblem& p = problem();
        if (!grads.weights.empty()) {
            WeightArgs a{Planes::of(in, p.in_channels), Planes::of(grad_out, p.out_channels), p.out_size(), p.kernel,
                         p.dilation, p.batch};
            weight_gradient(a, p.out_channels, p.in_channels, grads.weights, mode == Accumulate::Add, threads_);
        }
        if (!grads.input.empty()) backward_data(grad_out, w, grads.input, mode);
    }

    std::size_t cached_bytes() const override
    {
        return (forward_packed_.size() + backward_packed_.size() + padded_.size()) * sizeof(float);
    }
    void release_cache() override
    {
        forward_packed_ = {};
        backward_packed_ = {};
        padded_ = {};
        forward_version_ = backward_version_ = kNoVersion;
    }

private:
    static constexpr std::uint64_t kNoVersion = ~std::uint64_t{0};

    /// Packs W flipped: [o block][i][m][r] = W[block·R + r][i](K − 1 − m).
    void pack_forward(const Weights& w)
    {
        if (forward_version_ == w.version && !forward_packed_.empty()) return;
        const ConvProblem& p = problem();
        const Vec3i K = p.kernel;
        const std::int64_t taps = K.product();
        const std::int64_t blocks = (p.out_channels + kTileMaps - 1) / kTileMaps;
        forward_packed_ = core::AlignedBuffer<float>(static_cast<std::size_t>(blocks * p.in_channels * taps * kTileMaps));
        for (std::int64_t o = 0; o < p.out_channels; ++o)
            for (std::int64_t i = 0; i < p.in_channels; ++i)
                for (std::int64_t m = 0; m < taps; ++m) {
                    const std::int64_t mz = m / (K.y * K.x), my = m / K.x % K.y, mx = m % K.x;
                    forward_packed_[static_cast<std::size_t>(((o / kTileMaps * p.in_channels + i) * taps + m) * kTileMaps + o % kTileMaps)] =
                        w.values(o * p.in_channels + i, K.z - 1 - mz, K.y - 1 - my, K.x - 1 - mx);
                }
        forward_version_ = w.version;
    }

    /// Packs W unflipped with maps swapped: [i block][o][m][r] = W[o][block·R + r](m).
    void pack_backward(const Weights& w)
    {
        if (backward_version_ == w.version && !backward_packed_.empty()) return;
        const ConvProblem& p = problem();
        const Vec3i K = p.kernel;
        const std::int64_t taps = K.product();
        const std::int64_t blocks = (p.in_channels + kTileMaps - 1) / kTileMaps;
        backward_packed_ = core::AlignedBuffer<float>(static_cast<std::size_t>(blocks * p.out_channels * taps * kTileMaps));
        for (std::int64_t o = 0; o < p.out_channels; ++o)
            for (std::int64_t i = 0; i < p.in_channels; ++i)
                for (std::int64_t m = 0; m < taps; ++m)
                    backward_packed_[static_cast<std::size_t>(((i / kTileMaps * p.out_channels + o) * taps + m) * kTileMaps + i % kTileMaps)] =
                        w.values(o * p.in_channels + i, m / (K.y * K.x), m / K.x % K.y, m % K.x);
        backward_version_ = w.version;
    }

    void backward_data(TensorView<const float> grad_out, const Weights& w, TensorView<float> grad_in, Accumulate mode)
    {
        const ConvProblem& p = problem();
        pack_backward(w);
        // Zero-pad the output gradient by the kernel extent − 1 on every side.
        const Vec3i pad = p.kernel_extent() - 1;
        const Vec3i O = p.out_size();
        const Vec3i P = O + pad * 2;
        const std::int64_t maps = p.batch * p.out_channels;
        const auto count = static_cast<std::size_t>(maps * P.product());
        if (padded_.size() != count) padded_ = core::AlignedBuffer<float>(count);
        TensorView<float> padded(padded_.data(), tensor::Shape4{maps, P});
        threads_.run(maps, 1, [&](std::int64_t begin, std::int64_t end, int) {
            for (std::int64_t c = begin; c < end; ++c) {
                tensor::fill(padded.channel(c), 0.0f);
                tensor::copy(grad_out.channel(c), padded.channel(c).box({pad, O}));
            }
        });
        CorrArgs a;
        a.src = Planes::of(padded, p.out_channels);
        a.packed = backward_packed_.data();
        a.dst = grad_in;
        a.dst_channels = p.in_channels;
        a.taps = p.kernel;
        a.dilation = p.dilation;
        a.accumulate = mode == Accumulate::Add;
        correlate(a, p.batch, threads_);
    }

    core::ParallelFor& threads_;
    core::AlignedBuffer<float> forward_packed_;
    core::AlignedBuffer<float> backward_packed_;
    core::AlignedBuffer<float> padded_;
    std::uint64_t forward_version_ = kNoVersion;
    std::uint64_t backward_version_ = kNoVersion;
};

}  // namespace

std::unique_ptr<ConvEngine> make_direct_engine(const ConvProblem& problem, const ConvContext& context)
{
    return std::make_unique<DirectEngine>(problem, context);
}

}  // namespace znn::conv
