// The FFT convolution engine: tiled overlap-save with reused transforms.
//
// Dilation first: a convolution with taps s apart is, for each phase r (0 <= r < s per axis), an
// ordinary dense convolution of the sub-volume in(q·s + r) with the dense kernel; its outputs land on
// out(q·s + r). So every (image, phase) pair is a dense problem, and all of them share the kernel.
//
// Tiling: each dense output is cut into tiles of t voxels per axis; a tile needs t + K − 1 input
// voxels, and n = t + K − 1 is chosen among sizes the transforms (lane_fft.hpp) are fast at,
// by measurement. Then:
//  - every input tile is transformed once (r2c, n³) and reused by all F_out outputs;
//  - every kernel is transformed once per weight version (scaled by 1/n³) and reused by all tiles;
//  - per frequency, the outputs are one complex matrix product Y = W · X of (F_out × F_in) by
//    (F_in × tiles), accumulated in the frequency domain; one inverse transform per output tile.
// Spectra are stored frequency-block-major: one vector register's worth of frequencies (16 with
// AVX-512, else 8) per block, real parts then imaginary parts, so each product runs on whole
// registers with no shuffles.
//
// Backward reuses the same tiling. The output-gradient tiles H are transformed once and serve both
//  - the input gradient, Z = conj(W)ᵀ · H per frequency, inverse-transformed and overlap-added (each
//    tile's full correlation spans n voxels; the kernel offset, a circular shift of the result, is a
//    phase factor applied in the product);
//  - the kernel gradient, G = conj(H)ᵀ · X summed over all tiles, one inverse per kernel, sampled at
//    the kernel's K³ positions and scaled by 1/n³. X comes from the forward pass when the input is
//    the same buffer, else it is recomputed.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

#include "engines.hpp"
#include "lane_fft.hpp"
#include "simd.hpp"
#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/fft/plan_cache.hpp"

namespace znn::conv {
namespace {


using simd::Wide;
constexpr int kLanes = Wide::kLanes;        // frequencies per block: 16 with AVX-512, else 8
constexpr int kBlockFloats = 2 * kLanes;    // one block of one spectrum: the real parts, then the imaginary parts
constexpr double kProductFlopsPerSecond = 24e9;  // complex products, per thread (model only)
constexpr double kMaxKernelSpectraBytes = 2.0 * (1 << 30);

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// ---- tiling -------------------------------------------------------------------------------------------

struct Tiling {
    Vec3i kernel;     // dense kernel
    Vec3i dilation;   // phases per axis
    Vec3i in_size;    // full input
    Vec3i out_size;   // full output
    Vec3i sub_out;    // dense output per phase: ceil(O / s)
    Vec3i tile;       // t
    Vec3i n;          // transform size t + K − 1
    Vec3i tiles;      // tiles per axis per phase
    std::int64_t batch = 1;
    std::int64_t phases = 1;
    std::int64_t per_phase = 1;
    std::int64_t count = 1;   // all tiles: batch · phases · per_phase
    std::int64_t freqs = 1;   // n.z · n.y · (n.x/2 + 1)
    std::int64_t blocks = 1;  // ceil(freqs / 8)
    std::int64_t real_count = 1;

    struct Tile {
        std::int64_t image;
        Vec3i phase;
        Vec3i origin;  // in the phase's dense grid
    };
    Tile at(std::int64_t index) const
    {
        const std::int64_t j = index % per_phase;
        const std::int64_t ph = index / per_phase % phases;
        const std::int64_t image = index / per_phase / phases;
        const Vec3i phase{ph / (dilation.y * dilation.x), ph / dilation.x % dilation.y, ph % dilation.x};
        const Vec3i tj{j / (tiles.y * tiles.x), j / tiles.x % tiles.y, j % tiles.x};
        return {image, phase, tj * tile};
    }
};

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

/// The `count` most promising tilings, best first: every candidate is scored by the model with an
/// N·log N transform estimate, then the best few again with measured transform times.
std::vector<Tiling> ranked_tilings(const ConvProblem& p, Usage usage, std::size_t count)
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
                const double estimate = 2.5 * N * std::log2(std::max(N, 2.0)) / 35e9;  // LaneFft, measured at 16³-20³
                scored.push_back({model_seconds(p, t, estimate, usage), t});
            }
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.seconds < b.seconds; });
    scored.resize(std::min<std::size_t>(scored.size(), 8));
    for (Scored& s : scored) s.seconds = model_seconds(p, s.tiling, lane_transform_seconds(s.tiling.n), usage);
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.seconds < b.seconds; });
    std::vector<Tiling> best;
    for (std::size_t i = 0; i < scored.size() && i < count; ++i) best.push_back(scored[i].tiling);
    return best;
}

// ---- spectra in blocks of frequencies -------------------------------------------------------------------

/// Spectra stored block-major: block b of spectrum j at data + (b·count + j)·kBlockFloats floats, the
/// kLanes real parts then the kLanes imaginary parts. Consecutive spectra of one block are contiguous, which is what the
/// per-frequency products want, and what lets a group of spectra be written as one run.
struct SpectrumArray {
    core::AlignedBuffer<float> data;
    std::int64_t count = 0;  // spectra per block

    void resize(std::int64_t blocks, std::int64_t spectra)
    {
        const auto size = static_cast<std::size_t>(blocks * spectra * kBlockFloats);
        if (data.size() != size) data = core::AlignedBuffer<float>(size, core::Init::Uninitialized);
        count = spectra;
    }
    float* at(std::int64_t block, std::int64_t spectrum) { return data.data() + (block * count + spectrum) * kBlockFloats; }
    const float* at(std::int64_t block, std::int64_t spectrum) const
    {
        return data.data() + (block * count + spectrum) * kBlockFloats;
    }
};

/// Accumulated seconds per named phase, in first-use order.
class PhaseClock {
public:
    class Scope {
    public:
        Scope(PhaseClock& clock, std::size_t index) : clock_(clock), index_(index), start_(std::chrono::steady_clock::now()) {}
        ~Scope()
        {
            clock_.phases_[index_].second += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        PhaseClock& clock_;
        std::size_t index_;
        std::chrono::steady_clock::time_point start_;
    };

    Scope measure(const char* name)
    {
        for (std::size_t i = 0; i < phases_.size(); ++i)
            if (phases_[i].first == name) return Scope(*this, i);
        phases_.emplace_back(name, 0.0);
        return Scope(*this, phases_.size() - 1);
    }
    const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }

private:
    std::vector<std::pair<std::string, double>> phases_;
};

// ---- complex matrix products, kLanes frequencies at a time ----------------------------------------------------

/// C[m][n] = Σ_k op(A)[m][k] · B[k][n] for one frequency block; op conjugates A when CONJ. Strides
/// count spectra (blocks of kBlockFloats floats).
struct Gemm {
    const float* a;
    std::int64_t a_m, a_k;
    const float* b;
    std::int64_t b_k, b_n;
    float* c;
    std::int64_t c_m, c_n;
    std::int64_t M, N, K;
    const float* phase = nullptr;  ///< if set, every C block is multiplied by this block (split complex)
};

/// Register tile: MR rows of A by NR columns of B, 2·MR·NR accumulators. With AVX-512's 32 registers
/// 2×4 (16 complex accumulators); with 16 registers, 2×2. A (the kernel spectra, too large for L1)
/// is the operand to reuse: each value loaded feeds NR columns.
constexpr int kTileM = 2;
constexpr int kTileN = Wide::kLanes == 16 ? 4 : 2;

template <int MR, int NR, bool CONJ, bool PHASE>
void gemm_tile(const Gemm& g, std::int64_t m0, std::int64_t n0)
{
    using V = Wide::V;
    V cr[MR][NR], ci[MR][NR];
    for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) cr[m][n] = ci[m][n] = Wide::zero();
    const float* a = g.a + m0 * g.a_m * kBlockFloats;
    const float* b = g.b + n0 * g.b_n * kBlockFloats;
    // A (the kernel spectra, tens of MB) streams from memory in short runs the hardware prefetchers
    // do not catch in time: fetch the next tile's rows while this one computes (+46% measured).
    const std::int64_t ahead = MR * g.a_m * kBlockFloats;
    for (std::int64_t k = 0; k < g.K; ++k, a += g.a_k * kBlockFloats, b += g.b_k * kBlockFloats) {
        for (int m = 0; m < MR; ++m) {
            __builtin_prefetch(a + ahead + m * g.a_m * kBlockFloats);
            __builtin_prefetch(a + ahead + m * g.a_m * kBlockFloats + kLanes);
        }
        V br[NR], bi[NR];
        for (int n = 0; n < NR; ++n) {
            br[n] = Wide::load(b + n * g.b_n * kBlockFloats);
            bi[n] = Wide::load(b + n * g.b_n * kBlockFloats + kLanes);
            simd::keep_in_register(br[n]);
            simd::keep_in_register(bi[n]);
        }
        for (int m = 0; m < MR; ++m) {
            const V ar = Wide::load(a + m * g.a_m * kBlockFloats);
            for (int n = 0; n < NR; ++n) {
                cr[m][n] = Wide::fmadd(ar, br[n], cr[m][n]);
                ci[m][n] = Wide::fmadd(ar, bi[n], ci[m][n]);
            }
            const V ai = Wide::load(a + m * g.a_m * kBlockFloats + kLanes);
            for (int n = 0; n < NR; ++n) {
                if (CONJ) {  // (ar − i·ai)(br + i·bi)
                    cr[m][n] = Wide::fmadd(ai, bi[n], cr[m][n]);
                    ci[m][n] = Wide::fnmadd(ai, br[n], ci[m][n]);
                } else {     // (ar + i·ai)(br + i·bi)
                    cr[m][n] = Wide::fnmadd(ai, bi[n], cr[m][n]);
                    ci[m][n] = Wide::fmadd(ai, br[n], ci[m][n]);
                }
            }
        }
    }
    if constexpr (PHASE) {
        const V pr = Wide::load(g.phase), pi = Wide::load(g.phase + kLanes);
        for (int m = 0; m < MR; ++m)
            for (int n = 0; n < NR; ++n) {
                const V r = cr[m][n], i = ci[m][n];
                cr[m][n] = Wide::fnmadd(i, pi, Wide::fmadd(r, pr, Wide::zero()));
                ci[m][n] = Wide::fmadd(i, pr, Wide::fmadd(r, pi, Wide::zero()));
            }
    }
    for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) {
            float* c = g.c + ((m0 + m) * g.c_m + (n0 + n) * g.c_n) * kBlockFloats;
            Wide::store(c, cr[m][n]);
            Wide::store(c + kLanes, ci[m][n]);
        }
}

/// All rows from m0 in tiles of kTileM, then the remainder, for NR columns at n0.
template <int NR, bool CONJ, bool PHASE>
void gemm_columns(const Gemm& g, std::int64_t n0)
{
    std::int64_t m0 = 0;
    for (; m0 + kTileM <= g.M; m0 += kTileM) gemm_tile<kTileM, NR, CONJ, PHASE>(g, m0, n0);
    switch (g.M - m0) {
    case 3: if constexpr (kTileM > 3) gemm_tile<3, NR, CONJ, PHASE>(g, m0, n0); break;
    case 2: if constexpr (kTileM > 2) gemm_tile<2, NR, CONJ, PHASE>(g, m0, n0); break;
    case 1: gemm_tile<1, NR, CONJ, PHASE>(g, m0, n0); break;
    default: break;
    }
}

template <bool CONJ, bool PHASE>
void gemm_with(const Gemm& g)
{
    std::int64_t n0 = 0;
    for (; n0 + kTileN <= g.N; n0 += kTileN) gemm_columns<kTileN, CONJ, PHASE>(g, n0);
    switch (g.N - n0) {
    case 3: if constexpr (kTileN > 3) gemm_columns<3, CONJ, PHASE>(g, n0); break;
    case 2: if constexpr (kTileN > 2) gemm_columns<2, CONJ, PHASE>(g, n0); break;
    case 1: gemm_columns<1, CONJ, PHASE>(g, n0); break;
    default: break;
    }
}

/// C = op(A)·B, times g.phase when it is set.
template <bool CONJ>
void gemm(const Gemm& g)
{
    if (g.phase)
        gemm_with<CONJ, true>(g);
    else
        gemm_with<CONJ, false>(g);
}

// ---- the engine ------------------------------------------------------------------------------------------------

/// Per frequency block, the phase e^{sign·2πi f·(K−1)/n} (split complex, blocks of kBlockFloats). With
/// sign +1 it shifts a tile's convolution left by K − 1 (its valid outputs move to the origin); with
/// −1 it shifts a tile's full correlation right by K − 1 (to where it belongs in the input gradient).
core::AlignedBuffer<float> make_shift_phase(const Tiling& t, double sign)
{
    core::AlignedBuffer<float> phase(static_cast<std::size_t>(t.blocks * kBlockFloats));
    const std::int64_t nxc = t.n.x / 2 + 1;
    const Vec3i k1 = t.kernel - 1;
    for (std::int64_t f = 0; f < t.freqs; ++f) {
        const std::int64_t fz = f / (t.n.y * nxc), fy = f / nxc % t.n.y, fx = f % nxc;
        const double turns = static_cast<double>(fz * k1.z) / static_cast<double>(t.n.z) +
                             static_cast<double>(fy * k1.y) / static_cast<double>(t.n.y) +
                             static_cast<double>(fx * k1.x) / static_cast<double>(t.n.x);
        const double angle = sign * 2.0 * M_PI * (turns - std::floor(turns));
        float* block = phase.data() + f / kLanes * kBlockFloats;
        block[f % kLanes] = static_cast<float>(std::cos(angle));
        block[kLanes + f % kLanes] = static_cast<float>(std::sin(angle));
    }
    return phase;
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

class FftEngine final : public ConvEngine {
public:
    FftEngine(const ConvProblem& p, const ConvContext& context, const Tiling& tiling)
        : ConvEngine(p),
          threads_(context.threads),
          t_(tiling),
          lanes_(t_.n),
          shift_phase_(make_shift_phase(t_, +1.0)),
          unshift_phase_(make_shift_phase(t_, -1.0)),
          usage_(context.usage)
    {
        for (int i = 0; i < threads_.threads(); ++i)
            work_.emplace_back(static_cast<std::size_t>(lanes_.work_floats(threads_.threads())), core::Init::Uninitialized);
    }

    ConvAlgo algo() const noexcept override { return ConvAlgo::Fft; }

    void forward(TensorView<const float> in, const Weights& w, TensorView<float> out, Accumulate mode) override
    {
        check_shapes(in, out, w);
        const ConvProblem& p = problem();
        const std::int64_t fin = p.in_channels, fout = p.out_channels;
        refresh_kernel_spectra(w);
        input_spectra(in);
        y_.resize(t_.blocks, t_.count * fout);
        {
            const auto scope = clock_.measure("fwd products");
            // Y[tile][o] = Σ_i W[o][i] · X[tile][i]
            // ... times the phase that moves the valid outputs (K−1 .. K−1+t) to the origin.
            products([&](std::int64_t fb) {
                gemm<false>({w_.at(fb, 0), fin, 1, x_.at(fb, 0), 1, fin, y_.at(fb, 0), 1, fout, fout, t_.count, fin,
                             shift_phase_.data() + fb * kBlockFloats});
            });
        }
        const auto scope = clock_.measure("fwd inverse");
        const bool add = mode == Accumulate::Add;
        // Item k = o·tiles + tile (spectrum tile·F_out + o), kLanes at a time; output tiles do not
        // overlap. Map-major, so that threads write different maps: with dilation, tiles of
        // neighbouring phases interleave voxel by voxel and would share cache lines.
        lane_groups(t_.count * fout, [&](std::int64_t first, int count, float* work, core::ParallelFor* inner) {
            const float* src[kLanes];
            LaneTarget dst[kLanes];
            for (int g = 0; g < count; ++g) {
                const std::int64_t o = (first + g) / t_.count, tile = (first + g) % t_.count;
                src[g] = y_.at(0, tile * fout + o);
                const Region r = output_region(t_.at(tile), o, out.strides());
                dst[g] = {r.first_voxel(out), r.stride, r.valid, add};
            }
            lanes_.inverse(src, y_.count * kBlockFloats, count, t_.tile, 1.0f, dst, work, inner);
        });
    }

    void backward(TensorView<const float> in, TensorView<const float> grad_out, const Weights& w, const Gradients& grads,
                  Accumulate mode) override
    {
        check_shapes(in, grad_out, w);
        if (grads.input.empty() && grads.weights.empty()) return;
        const std::int64_t fout = problem().out_channels;
        {
            // H[tile][o]: the output-gradient tiles, shared by both gradients.
            const auto scope = clock_.measure("grad fft");
            h_.resize(t_.blocks, t_.count * fout);
            transform_tiles(grad_out, fout, t_.tile, h_, [&](const Tiling::Tile& tile, std::int64_t o) {
                return output_region(tile, o, grad_out.strides());
            });
        }
        if (!grads.weights.empty()) weight_gradient(in, grads.weights, mode == Accumulate::Add);
        if (!grads.input.empty()) input_gradient(w, grads.input, mode == Accumulate::Add);
    }

    std::vector<std::pair<std::string, double>> phase_seconds() const override { return clock_.phases(); }

    std::optional<Vec3i> fft_tile() const override { return t_.tile; }

    std::string describe() const override
    {
        return "tiles " + core::to_string(t_.tile) + " in " + core::to_string(t_.n) + " transforms, " +
               std::to_string(t_.count) + " tiles";
    }

    std::size_t workspace_bytes() const override
    {
        return fft_workspace_bytes(t_, problem(), usage_, threads_.threads());
    }

    std::size_t cached_bytes() const override
    {
        return (w_.data.size() + x_.data.size() + y_.data.size() + h_.data.size() + z_.data.size() + g_.data.size()) *
               sizeof(float);
    }

    void release_cache() override
    {
        for (SpectrumArray* a : {&w_, &x_, &y_, &h_, &z_, &g_}) *a = SpectrumArray{};
        w_version_ = kNoVersion;
        x_source_ = nullptr;
    }

private:
    static constexpr std::uint64_t kNoVersion = ~std::uint64_t{0};

    /// Where a tile's voxels lie in a view: voxel (z, y, x) of the tile at offset + z·stride.z +
    /// y·stride.y + x·stride.x; only `valid` voxels per axis exist (the rest is beyond the volume).
    struct Region {
        std::int64_t offset = 0;
        Vec3i stride;
        Vec3i valid;
        bool empty() const { return valid.min_component() <= 0; }
        /// The tile's first voxel in `view`, or null when none exists.
        template <class T>
        T* first_voxel(TensorView<T> view) const
        {
            return empty() ? nullptr : view.data() + offset;
        }
    };

    /// The n³ input voxels of a tile (its transform's input), in a view of the input's shape.
    Region input_region(const Tiling::Tile& tile, std::int64_t i, const tensor::Strides4& st) const
    {
        const Vec3i first = tile.origin * t_.dilation + tile.phase;
        Vec3i valid;
        for (int a = 0; a < 3; ++a) valid[a] = std::clamp<std::int64_t>(ceil_div(t_.in_size[a] - first[a], t_.dilation[a]), 0, t_.n[a]);
        return region(first, tile.image * problem().in_channels + i, st, valid);
    }

    /// The t³ output voxels of a tile, in a view of the output's shape.
    Region output_region(const Tiling::Tile& tile, std::int64_t o, const tensor::Strides4& st) const
    {
        const Vec3i first = tile.origin * t_.dilation + tile.phase;
        Vec3i valid;
        for (int a = 0; a < 3; ++a)
            valid[a] = std::clamp<std::int64_t>(
                std::min(ceil_div(t_.out_size[a] - first[a], t_.dilation[a]), t_.sub_out[a] - tile.origin[a]), 0, t_.tile[a]);
        return region(first, tile.image * problem().out_channels + o, st, valid);
    }

    /// The region of `valid` voxels from voxel `first` of `channel`, taps dilation apart.
    Region region(const Vec3i& first, std::int64_t channel, const tensor::Strides4& st, const Vec3i& valid) const
    {
        const Vec3i& s = t_.dilation;
        Region r{0, {s.z * st.z, s.y * st.y, s.x}, valid};
        if (!r.empty()) r.offset = channel * st.c + first.z * st.z + first.y * st.y + first.x;
        return r;
    }

    /// Spectrum tile·maps + m of every map m of `view`: the tile's `block` voxels where region_of(tile, m)
    /// says they are (a Region of `view`).
    template <class RegionOf>
    void transform_tiles(TensorView<const float> view, std::int64_t maps, const Vec3i& block, SpectrumArray& spectra,
                         RegionOf region_of)
    {
        lane_groups(t_.count * maps, [&](std::int64_t first, int count, float* work, core::ParallelFor* inner) {
            LaneVolume src[kLanes];
            float* dst[kLanes];
            for (int g = 0; g < count; ++g) {
                const std::int64_t j = first + g;
                const Region r = region_of(t_.at(j / maps), j % maps);
                src[g] = {r.first_voxel(view), r.stride, r.valid};
                dst[g] = spectra.at(0, j);
            }
            lanes_.forward(src, count, block, 1.0f, dst, spectra.count * kBlockFloats, work, false, inner);
        });
    }

    /// Runs fn(first, count, work, inner) over [0, items) in groups of at most kLanes. With at least
    /// as many groups as threads, the groups spread over the threads, resized so that every thread
    /// gets the same number (40 items on 2 threads: 4 groups of 10, not 16 + 16 + 8: a transform costs
    /// the same with fewer lanes, so the balanced split takes 2 group times instead of 3). With fewer
    /// (a layer with one input or output map), one group after another, each transform's passes split
    /// over all threads (inner set).
    template <class F>
    void lane_groups(std::int64_t items, F&& fn)
    {
        const int threads = threads_.threads();
        std::int64_t groups = ceil_div(items, kLanes);
        if (threads > 1 && groups < threads) {
            for (std::int64_t first = 0; first < items; first += kLanes)
                fn(first, static_cast<int>(std::min<std::int64_t>(kLanes, items - first)), work_[0].data(), &threads_);
            return;
        }
        groups = std::min(items, ceil_div(groups, threads) * threads);
        const std::int64_t width = ceil_div(items, groups);
        groups = ceil_div(items, width);
        threads_.run(groups, share(groups), [&](std::int64_t begin, std::int64_t end, int thread) {
            float* work = work_[static_cast<std::size_t>(thread)].data();
            for (std::int64_t group = begin; group < end; ++group) {
                const std::int64_t first = group * width;
                fn(first, static_cast<int>(std::min(width, items - first)), work, nullptr);
            }
        });
    }

    /// Chunk size for `items` work items: about four contiguous chunks per thread. Smaller chunks
    /// interleave the threads' memory streams (measured slower here); fewer leave no slack for balance.
    std::int64_t share(std::int64_t items) const
    {
        return std::max<std::int64_t>(1, items / (4 * threads_.threads()));
    }

    template <class F>
    void products(F&& per_block)
    {
        threads_.run(t_.blocks, share(t_.blocks), [&](std::int64_t begin, std::int64_t end, int) {
            for (std::int64_t fb = begin; fb < end; ++fb) per_block(fb);
        });
    }

    void refresh_kernel_spectra(const Weights& w)
    {
        if (w_version_ == w.version && !w_.data.empty()) return;
        const auto scope = clock_.measure("kernel fft");
        const ConvProblem& p = problem();
        const std::int64_t pairs = p.out_channels * p.in_channels;
        w_.resize(t_.blocks, pairs);
        const float scale = 1.0f / static_cast<float>(t_.real_count);  // the inverse transforms' 1/N, once
        const tensor::Strides4& st = w.values.strides();
        lane_groups(pairs, [&](std::int64_t first, int count, float* work, core::ParallelFor* inner) {  // pair = o·F_in + i
            LaneVolume src[kLanes];
            float* dst[kLanes];
            for (int g = 0; g < count; ++g) {
                src[g] = {w.values.row(first + g, 0, 0), {st.z, st.y, 1}, p.kernel};
                dst[g] = w_.at(0, first + g);
            }
            lanes_.forward(src, count, p.kernel, scale, dst, w_.count * kBlockFloats, work, /*streaming=*/true, inner);
        });
        w_version_ = w.version;
    }

    void input_spectra(TensorView<const float> in)
    {
        const auto scope = clock_.measure("input fft");
        const std::int64_t fin = problem().in_channels;
        x_.resize(t_.blocks, t_.count * fin);
        transform_tiles(in, fin, t_.n, x_, [&](const Tiling::Tile& tile, std::int64_t i) {
            return input_region(tile, i, in.strides());
        });
        x_source_ = in.data();
        x_shape_ = in.shape();
        x_strides_ = in.strides();
    }
    void input_gradient(const Weights& w, TensorView<float> grad_in, bool add)
    {
        const ConvProblem& p = problem();
        const std::int64_t fin = p.in_channels, fout = p.out_channels;
        refresh_kernel_spectra(w);
        z_.resize(t_.blocks, t_.count * fin);
        {
            const auto scope = clock_.measure("data products");
            // Z[tile][i] = Σ_o conj(W[o][i]) · H[tile][o]
            // ... times the phase that puts each tile's correlation where it belongs (no circular shift).
            products([&](std::int64_t fb) {
                gemm<true>({w_.at(fb, 0), 1, fin, h_.at(fb, 0), 1, fout, z_.at(fb, 0), 1, fin, fin, t_.count, fout,
                            unshift_phase_.data() + fb * kBlockFloats});
            });
        }
        const auto scope = clock_.measure("data inverse");
        if (!add) {
            threads_.run(grad_in.channels(), 1, [&](std::int64_t begin, std::int64_t end, int) {
                for (std::int64_t c = begin; c < end; ++c) tensor::fill(grad_in.channel(c), 0.0f);
            });
        }
        // Overlap-add: tiles of one (image, phase, map) overlap, so each item is a group of maps whose
        // tiles one thread adds up. Groups are made small enough for every thread to get several. An
        // item spans every image and phase of its maps when there are enough groups: with dilation,
        // the phases of one map interleave voxel by voxel, and two threads on neighbouring phases of
        // the same maps would share every cache line they write (measured: this step took two to four
        // times as long in runs where the threads fell into step). With few maps, an item is one image
        // and phase of a group.
        const std::int64_t images = t_.batch * t_.phases;
        const std::int64_t threads = threads_.threads();
        // Maps per group: about fin / (4·threads), rounded down to a multiple of the maps that fill
        // whole lane groups when there is one (4 tiles per phase: 4 maps, 16 transforms, not 5 maps in
        // groups of 16 + 4, which cost as much as 16 + 16).
        const std::int64_t lane_maps = kLanes / std::gcd<std::int64_t>(kLanes, t_.per_phase);
        std::int64_t per_group = std::max<std::int64_t>(1, fin / (4 * threads));
        if (per_group >= lane_maps) per_group -= per_group % lane_maps;
        const std::int64_t groups = ceil_div(fin, per_group);
        const std::int64_t image_span = groups >= 2 * threads ? images : 1;  // images and phases per item
        threads_.run(groups * (images / image_span), 1, [&](std::int64_t begin, std::int64_t end, int thread) {
            float* work = work_[static_cast<std::size_t>(thread)].data();
            for (std::int64_t item = begin; item < end; ++item) {
                const std::int64_t i0 = item % groups * per_group;
                const std::int64_t first_image = item / groups * image_span;
                for (std::int64_t image_phase = first_image; image_phase < first_image + image_span; ++image_phase)
                    add_input_gradient_tiles(image_phase, i0, std::min(per_group, fin - i0), grad_in, work);
            }
        });
    }

    /// Adds the inverse of Z for every tile of one image and phase and maps [i0, i0 + maps) to grad_in,
    /// kLanes (tile, map) pairs at a time.
    void add_input_gradient_tiles(std::int64_t image_phase, std::int64_t i0, std::int64_t maps, TensorView<float> grad_in,
                                  float* work) const
    {
        const std::int64_t fin = problem().in_channels, per_phase = t_.per_phase;
        const std::int64_t pairs = maps * per_phase;  // pair = map·per_phase + tile in the phase
        for (std::int64_t first = 0; first < pairs; first += kLanes) {
            const int count = static_cast<int>(std::min<std::int64_t>(kLanes, pairs - first));
            const float* src[kLanes];
            LaneTarget dst[kLanes];
            for (int g = 0; g < count; ++g) {
                const std::int64_t i = i0 + (first + g) / per_phase;
                const std::int64_t tile = image_phase * per_phase + (first + g) % per_phase;
                src[g] = z_.at(0, tile * fin + i);
                const Region r = input_region(t_.at(tile), i, grad_in.strides());
                dst[g] = {r.first_voxel(grad_in), r.stride, r.valid, true};
            }
            lanes_.inverse(src, z_.count * kBlockFloats, count, t_.n, 1.0f, dst, work);
        }
    }

    /// G[o][i] = Σ_tile conj(H[tile][o]) · X[tile][i], one inverse per kernel. Done in chunks of output
    /// maps whose gradient spectra fit in the last-level cache, so each chunk is inverted from cache
    /// right after its products instead of being written to and read back from memory.
    void weight_gradient(TensorView<const float> in, TensorView<float> grad_w, bool add)
    {
        const ConvProblem& p = problem();
        const std::int64_t fin = p.in_channels, fout = p.out_channels;
        const bool reuse = x_source_ == in.data() && x_shape_ == in.shape() && x_strides_ == in.strides() && !x_.data.empty();
        if (!reuse) input_spectra(in);
        const std::int64_t chunk = weight_gradient_chunk(t_, fin, fout);
        g_.resize(t_.blocks, chunk * fin);
        const Vec3i K = p.kernel;
        const float scale = 1.0f / static_cast<float>(t_.real_count);
        for (std::int64_t o0 = 0; o0 < fout; o0 += chunk) {
            const std::int64_t maps = std::min(chunk, fout - o0);
            {
                const auto scope = clock_.measure("weight products");
                products([&](std::int64_t fb) {
                    gemm<true>({h_.at(fb, o0), 1, fout, x_.at(fb, 0), fin, 1, g_.at(fb, 0), fin, 1, maps, fin, t_.count});
                });
            }
            const auto scope = clock_.measure("weight inverse");
            const std::int64_t pairs = maps * fin;  // local pair = (o − o0)·F_in + i
            const tensor::Strides4& st = grad_w.strides();
            lane_groups(pairs, [&](std::int64_t first, int count, float* work, core::ParallelFor* inner) {
                const float* src[kLanes];
                LaneTarget dst[kLanes];
                for (int g = 0; g < count; ++g) {
                    src[g] = g_.at(0, first + g);
                    // Lag m of the correlation is kernel index K − 1 − m: the kernel read backwards.
                    float* last = grad_w.row(o0 * fin + first + g, K.z - 1, K.y - 1) + (K.x - 1);
                    dst[g] = {last, {-st.z, -st.y, -1}, K, add};
                }
                lanes_.inverse(src, g_.count * kBlockFloats, count, K, scale, dst, work, inner);
            });
        }
    }

    core::ParallelFor& threads_;
    Tiling t_;
    LaneFft lanes_;  // every transform, kLanes spectra at a time
    core::AlignedBuffer<float> shift_phase_;    // per block: e^{+2πi f·(K−1)/n}, split complex
    core::AlignedBuffer<float> unshift_phase_;  // per block: e^{−2πi f·(K−1)/n}
    std::vector<core::AlignedBuffer<float>> work_;  // per thread, for lanes_
    Usage usage_;
    PhaseClock clock_;
    SpectrumArray w_;  // kernel spectra [block][o·F_in + i], scaled by 1/n³
    SpectrumArray x_;  // input spectra [block][tile·F_in + i]
    SpectrumArray y_;  // output spectra [block][tile·F_out + o]
    SpectrumArray h_;  // output-gradient spectra [block][tile·F_out + o]
    SpectrumArray z_;  // input-gradient spectra [block][tile·F_in + i]
    SpectrumArray g_;  // kernel-gradient spectra of one chunk of output maps [block][(o − o0)·F_in + i]
    std::uint64_t w_version_ = kNoVersion;
    const float* x_source_ = nullptr;
    tensor::Shape4 x_shape_;
    tensor::Strides4 x_strides_;
};

/// Random data of a problem's shapes, for timing engines.
struct TimingData {
    tensor::Tensor<float> in, w, out, grad_in, grad_w;

    explicit TimingData(const ConvProblem& p)
    {
        core::Rng rng = core::Rng::stream(0, 0, core::RngPurpose::Test);
        auto random = [&](tensor::Shape4 shape) {
            tensor::Tensor<float> t(shape, core::Init::Uninitialized);
            for (float& v : t.span()) v = rng.uniform_float() - 0.5f;
            return t;
        };
        in = random({p.batch * p.in_channels, p.in_size});
        w = random({p.out_channels * p.in_channels, p.kernel});
        out = tensor::Tensor<float>(p.batch * p.out_channels, p.out_size());
        grad_in = tensor::Tensor<float>(in.shape());
        grad_w = tensor::Tensor<float>(w.shape());
    }
};

/// Seconds of one step of `engine` as `usage` says; `version` must change between calls for training.
double time_step(ConvEngine& engine, TimingData& d, Usage usage, std::uint64_t version)
{
    const Weights weights{d.w.view(), usage == Usage::Training ? version : 0};
    const auto start = std::chrono::steady_clock::now();
    engine.forward(d.in.view(), weights, d.out.view(), Accumulate::Overwrite);
    if (usage == Usage::Training)
        engine.backward(d.in.view(), d.out.view(), weights, {d.grad_in.view(), d.grad_w.view()}, Accumulate::Overwrite);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::size_t fft_workspace_bound(const ConvProblem& problem, const ConvContext& context)
{
    if (context.fft_tile) return make_fft_engine(problem, context)->workspace_bytes();
    const std::vector<Tiling> candidates = ranked_tilings(problem, context.usage, 3);
    const int threads = context.threads.threads();
    if (context.plans.rigor() == fft::PlanRigor::Estimate || candidates.size() == 1)
        return fft_workspace_bytes(candidates.front(), problem, context.usage, threads);
    // make_fft_engine times the candidates side by side: all of them and the timing data at once.
    const ConvProblem& p = problem;
    std::int64_t floats = p.batch * (p.in_channels * p.in_size.product() + p.out_channels * p.out_size().product()) +
                          p.out_channels * p.in_channels * p.kernel.product();
    if (context.usage == Usage::Training) floats *= 2;
    std::size_t all = static_cast<std::size_t>(floats) * sizeof(float);
    for (const Tiling& t : candidates)
        all += fft_workspace_bytes(t, problem, context.usage, threads);
    return all;
}

std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context)
{
    if (context.fft_tile) {
        const Tiling any = make_tiling(problem, Vec3i{1, 1, 1});
        Vec3i tile = max(min(*context.fft_tile, any.sub_out), Vec3i{1, 1, 1});
        for (int a = 0; a < 3; ++a)
            if (problem.kernel[a] == 1) tile[a] = 1;  // never transform along an axis the kernel does not span
        return std::make_unique<FftEngine>(problem, context, make_tiling(problem, tile));
    }
    const std::vector<Tiling> candidates = ranked_tilings(problem, context.usage, 3);
    if (context.plans.rigor() == fft::PlanRigor::Estimate || candidates.size() == 1)
        return std::make_unique<FftEngine>(problem, context, candidates.front());
    // Transform sizes matter more than any model knows: time the best few on the real shapes. All are
    // warmed up first and then timed in alternation, so a cold start or a noisy moment of the host
    // does not decide.
    TimingData data(problem);
    std::vector<std::unique_ptr<ConvEngine>> engines;
    std::vector<double> best(candidates.size(), 1e300);
    std::uint64_t version = 0;
    for (const Tiling& t : candidates) {
        engines.push_back(std::make_unique<FftEngine>(problem, context, t));
        time_step(*engines.back(), data, context.usage, ++version);
    }
    for (int round = 0; round < 2; ++round)
        for (std::size_t i = 0; i < engines.size(); ++i)
            best[i] = std::min(best[i], time_step(*engines[i], data, context.usage, ++version));
    const auto winner = static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
    engines[winner]->release_cache();
    return std::move(engines[winner]);
}

}  // namespace znn::conv
