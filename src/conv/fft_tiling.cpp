#include "fft_tiling.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "znn/core/aligned.hpp"
#include "znn/fft/lane_fft.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {

using fft::ZNN_SIMD_NS::LaneFft;
using fft::ZNN_SIMD_NS::LaneVolume;

namespace {

constexpr double kProductFlopsPerSecond = 24e9;  // complex products, per thread (model only)
constexpr double kMaxKernelSpectraBytes = 2.0 * (1 << 30);

bool is_7_smooth(std::int64_t n)
{
    for (std::int64_t f : {2, 3, 5, 7})
        while (n % f == 0) n /= f;
    return n == 1;
}

/// Tile sizes worth trying on one axis: those whose transform length is 7-smooth, plus one tile
/// covering the whole axis. An axis the kernel does not span (K = 1) is never transformed.
std::vector<std::int64_t> tile_candidates(std::int64_t sub_out, std::int64_t kernel)
{
    if (kernel == 1) return {1};
    std::vector<std::int64_t> c;
    for (std::int64_t t = 1; t <= sub_out; ++t)
        if (is_7_smooth(t + kernel - 1) && t + kernel - 1 <= 160) c.push_back(t);
    if (c.empty() || c.back() != sub_out) c.push_back(sub_out);
    return c;
}

/// Modelled seconds of one step (a forward pass, or forward and both gradients) with tiling t, one
/// full transform taking `transform_seconds`. Kernel transforms are pruned (about 0.4 of a full one),
/// so are output and output-gradient tiles (about 0.8); every transform also moves its spectrum
/// through memory once on the way in and once on the way out.
double model_seconds(const ConvProblem& p, const Tiling& t, double transform_seconds, Usage usage)
{
    const double fin = static_cast<double>(p.in_channels), fout = static_cast<double>(p.out_channels);
    const double tiles = static_cast<double>(t.count);
    const bool training = usage == Usage::Training;
    const double transforms = training ? tiles * (2 * fin + 1.6 * fout) + 0.8 * fin * fout : tiles * (fin + 0.8 * fout);
    const double moved = training ? tiles * 2 * (fin + fout) + 2 * fin * fout : tiles * (fin + fout);
    const double memory_seconds = static_cast<double>(t.freqs) * 8.0 * 2.0 / 10e9;
    const double products = (training ? 3.0 : 1.0) * static_cast<double>(t.freqs) * fin * fout * tiles * 8.0;
    return transforms * transform_seconds + moved * memory_seconds + products / kProductFlopsPerSecond;
}

/// Seconds one transform of size n takes, measured: one lane's share of a full batch (best of 3).
double lane_transform_seconds(const Vec3i& n)
{
    const LaneFft lanes(n);
    core::AlignedBuffer<float> volume(static_cast<std::size_t>(n.product()), core::Init::Zero);
    core::AlignedBuffer<float> work(static_cast<std::size_t>(lanes.work_floats()), core::Init::Uninitialized);
    core::AlignedBuffer<float> spectra(static_cast<std::size_t>(lanes.blocks() * kLanes * kBlockFloats), core::Init::Uninitialized);
    LaneVolume src[kLanes];
    float* dst[kLanes];
    for (int g = 0; g < kLanes; ++g) {
        src[g] = {volume.data(), {n.y * n.x, n.x, 1}, n};
        dst[g] = spectra.data() + g * kBlockFloats;
    }
    double best = 1e300;
    for (int round = 0; round < 3; ++round) {
        const auto start = std::chrono::steady_clock::now();
        lanes.forward(src, kLanes, n, 1.0f, dst, kLanes * kBlockFloats, work.data());
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best / kLanes;
}

}  // namespace

std::vector<Tiling> model_candidates(const ConvProblem& p, Usage usage)
{
    const Vec3i O = p.out_size();
    const Vec3i sub{ceil_div(O.z, p.dilation.z), ceil_div(O.y, p.dilation.y), ceil_div(O.x, p.dilation.x)};
    struct Scored {
        double seconds;
        Tiling tiling;
    };
    std::vector<Scored> scored;
    for (std::int64_t tz : tile_candidates(sub.z, p.kernel.z))
        for (std::int64_t ty : tile_candidates(sub.y, p.kernel.y))
            for (std::int64_t tx : tile_candidates(sub.x, p.kernel.x)) {
                const Tiling t = make_tiling(p, {tz, ty, tx});
                const double spectra_bytes = static_cast<double>(t.blocks) * kBlockFloats * 4.0 * p.in_channels * p.out_channels;
                if (spectra_bytes > kMaxKernelSpectraBytes && !scored.empty()) continue;
                const double N = static_cast<double>(t.real_count);
                const double estimate = 2.5 * N * std::log2(std::max(N, 2.0)) / 35e9;  // LaneFft's N·log N, roughly
                scored.push_back({model_seconds(p, t, estimate, usage), t});
            }
    std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.seconds < b.seconds; });
    std::vector<Tiling> best;
    for (std::size_t i = 0; i < scored.size() && i < kModelCandidates; ++i) best.push_back(scored[i].tiling);
    return best;
}

std::vector<Tiling> ranked_tilings(const ConvProblem& p, Usage usage, std::size_t count)
{
    std::vector<std::pair<double, Tiling>> scored;
    for (const Tiling& t : model_candidates(p, usage)) scored.emplace_back(model_seconds(p, t, lane_transform_seconds(t.n), usage), t);
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Tiling> best;
    for (std::size_t i = 0; i < scored.size() && i < count; ++i) best.push_back(scored[i].second);
    return best;
}

Tiling make_tiling(const ConvProblem& p, const Vec3i& tile)
{
    Tiling t;
    t.kernel = p.kernel;
    t.dilation = p.dilation;
    t.in_size = p.in_size;
    t.out_size = p.out_size();
    t.sub_out = {ceil_div(t.out_size.z, p.dilation.z), ceil_div(t.out_size.y, p.dilation.y), ceil_div(t.out_size.x, p.dilation.x)};
    t.tile = tile;
    t.n = tile + p.kernel - 1;
    t.tiles = {ceil_div(t.sub_out.z, tile.z), ceil_div(t.sub_out.y, tile.y), ceil_div(t.sub_out.x, tile.x)};
    t.batch = p.batch;
    t.phases = p.dilation.product();
    t.per_phase = t.tiles.product();
    t.count = t.batch * t.phases * t.per_phase;
    t.freqs = t.n.z * t.n.y * (t.n.x / 2 + 1);
    t.blocks = ceil_div(t.freqs, kLanes);
    t.real_count = t.n.product();
    return t;
}

/// Output maps per chunk of the weight gradient: as many as keep a chunk's spectra within 8 MiB
/// (the last-level cache), in whole register tiles.
std::int64_t weight_gradient_chunk(const Tiling& t, std::int64_t fin, std::int64_t fout)
{
    constexpr double kChunkBytes = 8 << 20;
    const double bytes_per_map = static_cast<double>(t.blocks * fin * kBlockFloats) * sizeof(float);
    std::int64_t chunk = std::clamp<std::int64_t>(static_cast<std::int64_t>(kChunkBytes / bytes_per_map), 1, fout);
    if (chunk > kTileM) chunk -= chunk % kTileM;
    return chunk;
}

/// Bytes an engine of tiling `t` holds while it runs: per-thread transform scratch, the two phase
/// tables, and the spectra of the kernels, input and output tiles (training: also of the output
/// gradient, the input gradient and one chunk of the kernel gradient).
std::size_t fft_workspace_bytes(const Tiling& t, const ConvProblem& p, Usage usage, int threads)
{
    const std::int64_t fin = p.in_channels, fout = p.out_channels;
    std::int64_t spectra = fout * fin + t.count * (fin + fout);
    if (usage == Usage::Training) spectra += t.count * (fout + fin) + weight_gradient_chunk(t, fin, fout) * fin;
    const std::int64_t floats = threads * LaneFft(t.n).work_floats(threads) + 2 * t.blocks * kBlockFloats +
                                t.blocks * spectra * kBlockFloats;
    return static_cast<std::size_t>(floats) * sizeof(float);
}

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
