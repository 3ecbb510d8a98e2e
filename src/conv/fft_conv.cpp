// The FFT convolution engine: tiled overlap-save with reused transforms.
//
// Dilation first: a convolution with taps s apart is, for each phase r (0 <= r < s per axis), an
// ordinary dense convolution of the sub-volume in(q·s + r) with the dense kernel; its outputs land on
// out(q·s + r). So every (image, phase) pair is a dense problem, and all of them share the kernel.
//
// Tiling: each dense output is cut into tiles of t voxels per axis; a tile needs t + K − 1 input
// voxels, and n = t + K − 1 is chosen among sizes FFTW transforms fast (measured). Then:
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
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "engines.hpp"
#include "simd.hpp"
#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/fft/pruned.hpp"

namespace znn::conv {
namespace {

using fft::cfloat;
using simd::Vec8;

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

/// The `count` most promising tilings, best first: every candidate is scored by the model with an
/// N·log N transform estimate, then the best few again with measured transform times.
std::vector<Tiling> ranked_tilings(const ConvProblem& p, fft::PlanCache& plans, Usage usage, std::size_t count)
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
                const double estimate = 2.5 * N * std::log2(std::max(N, 2.0)) / 11e9;
                scored.push_back({model_seconds(p, t, estimate, usage), t});
            }
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.seconds < b.seconds; });
    scored.resize(std::min<std::size_t>(scored.size(), 8));
    for (Scored& s : scored) s.seconds = model_seconds(p, s.tiling, plans.r2c_seconds(s.tiling.n), usage);
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

/// Interleaved complex (kLanes values) -> kLanes real parts, kLanes imaginary parts; zero-padded
/// beyond `valid`.
inline void split_block(const float* src, float* dst, std::int64_t valid)
{
#if ZNN_HAVE_AVX512
    if (valid == kLanes) {
        const __m512 lo = _mm512_loadu_ps(src);
        const __m512 hi = _mm512_loadu_ps(src + 16);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        _mm512_store_ps(dst, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_store_ps(dst + kLanes, _mm512_permutex2var_ps(lo, odd, hi));
        return;
    }
#elif ZNN_HAVE_AVX2
    if (valid == kLanes) {
        const __m256 lo = _mm256_loadu_ps(src);      // r0 i0 r1 i1 | r2 i2 r3 i3
        const __m256 hi = _mm256_loadu_ps(src + 8);  // r4 i4 r5 i5 | r6 i6 r7 i7
        const __m256 re = _mm256_shuffle_ps(lo, hi, 0x88);  // r0 r1 r4 r5 | r2 r3 r6 r7
        const __m256 im = _mm256_shuffle_ps(lo, hi, 0xDD);
        _mm256_store_ps(dst, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(re), 0xD8)));
        _mm256_store_ps(dst + kLanes, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(im), 0xD8)));
        return;
    }
#endif
    for (std::int64_t l = 0; l < kLanes; ++l) {
        dst[l] = l < valid ? src[2 * l] : 0.0f;
        dst[kLanes + l] = l < valid ? src[2 * l + 1] : 0.0f;
    }
}

/// kLanes real parts, kLanes imaginary parts -> interleaved complex (the first `valid` values).
inline void join_block(const float* src, float* dst, std::int64_t valid)
{
#if ZNN_HAVE_AVX512
    if (valid == kLanes) {
        const __m512 re = _mm512_load_ps(src);
        const __m512 im = _mm512_load_ps(src + kLanes);
        const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        _mm512_storeu_ps(dst, _mm512_permutex2var_ps(re, first, im));
        _mm512_storeu_ps(dst + 16, _mm512_permutex2var_ps(re, second, im));
        return;
    }
#elif ZNN_HAVE_AVX2
    if (valid == kLanes) {
        const __m256 re = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_load_ps(src)), 0xD8));
        const __m256 im = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_load_ps(src + kLanes)), 0xD8));
        _mm256_storeu_ps(dst, _mm256_unpacklo_ps(re, im));
        _mm256_storeu_ps(dst + 8, _mm256_unpackhi_ps(re, im));
        return;
    }
#endif
    for (std::int64_t l = 0; l < valid; ++l) {
        dst[2 * l] = src[l];
        dst[2 * l + 1] = src[kLanes + l];
    }
}

/// Writes `group` interleaved spectra (staging, `stride` complex apart) as spectra first.. of array.
void scatter_group(const cfloat* staging, std::int64_t stride, int group, std::int64_t freqs, SpectrumArray& array,
                   std::int64_t first)
{
    const auto* src = reinterpret_cast<const float*>(staging);
    const std::int64_t blocks = ceil_div(freqs, kLanes);
    for (std::int64_t b = 0; b < blocks; ++b) {
        float* dst = array.at(b, first);
        const std::int64_t valid = std::min<std::int64_t>(kLanes, freqs - b * kLanes);
        for (int g = 0; g < group; ++g) split_block(src + 2 * (g * stride + b * kLanes), dst + g * kBlockFloats, valid);
    }
}

/// The inverse of scatter_group.
void gather_group(const SpectrumArray& array, std::int64_t first, int group, std::int64_t freqs, cfloat* staging,
                  std::int64_t stride)
{
    auto* dst = reinterpret_cast<float*>(staging);
    const std::int64_t blocks = ceil_div(freqs, kLanes);
    for (std::int64_t b = 0; b < blocks; ++b) {
        const float* src = array.at(b, first);
        const std::int64_t valid = std::min<std::int64_t>(kLanes, freqs - b * kLanes);
        for (int g = 0; g < group; ++g) join_block(src + g * kBlockFloats, dst + 2 * (g * stride + b * kLanes), valid);
    }
}

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

/// Transforms run in groups of this many spectra, so that writing them block-major touches one run
/// of group·4·kBlockFloats bytes per block instead of one cache line (and page) per spectrum.
constexpr int kGroup = 8;

class FftEngine final : public ConvEngine {
public:
    FftEngine(const ConvProblem& p, const ConvContext& context, const Tiling& tiling)
        : ConvEngine(p),
          threads_(context.threads),
          t_(tiling),
          forward_plan_(&context.plans.get(fft::PlanSpec::r2c_3d(t_.n))),
          inverse_plan_(&context.plans.get(fft::PlanSpec::c2r_3d(t_.n))),
          kernels_(context.plans, t_.n, p.kernel),
          tiles_(context.plans, t_.n, t_.tile),
          shift_phase_(make_shift_phase(t_, +1.0)),
          unshift_phase_(make_shift_phase(t_, -1.0)),
          stride_((t_.freqs + kLanes - 1) / kLanes * kLanes)  // keeps every staged spectrum aligned
    {
        for (int i = 0; i < threads_.threads(); ++i) {
            Scratch s;
            s.staging = core::AlignedBuffer<cfloat>(static_cast<std::size_t>(kGroup * stride_), core::Init::Uninitialized);
            s.real = core::AlignedBuffer<float>(static_cast<std::size_t>(t_.real_count), core::Init::Uninitialized);
            s.block = core::AlignedBuffer<float>(static_cast<std::size_t>(std::max(p.kernel.product(), t_.tile.product())),
                                                 core::Init::Uninitialized);
            s.pruned = core::AlignedBuffer<float>(static_cast<std::size_t>(std::max(kernels_.scratch_size(), tiles_.scratch_size())),
                                                  core::Init::Uninitialized);
            scratch_.push_back(std::move(s));
        }
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
        const std::int64_t groups = ceil_div(fout, kGroup);
        threads_.run(t_.count * groups, share(t_.count * groups), [&](std::int64_t begin, std::int64_t end, int thread) {
            Scratch& s = scratch_[static_cast<std::size_t>(thread)];
            for (std::int64_t item = begin; item < end; ++item) {
                const std::int64_t tile = item / groups, o0 = item % groups * kGroup;
                const int group = static_cast<int>(std::min<std::int64_t>(kGroup, fout - o0));
                gather_group(y_, tile * fout + o0, group, t_.freqs, s.staging.data(), stride_);
                for (int g = 0; g < group; ++g) {
                    tiles_.inverse(s.staging.data() + g * stride_, 1.0f, s.block.data(), s.pruned.data());
                    store_output_tile(t_.at(tile), o0 + g, s.block.data(), out, add);
                }
            }
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
            const std::int64_t groups = ceil_div(fout, kGroup);
            threads_.run(t_.count * groups, share(t_.count * groups), [&](std::int64_t begin, std::int64_t end, int thread) {
                Scratch& s = scratch_[static_cast<std::size_t>(thread)];
                for (std::int64_t item = begin; item < end; ++item) {
                    const std::int64_t tile = item / groups, o0 = item % groups * kGroup;
                    const int group = static_cast<int>(std::min<std::int64_t>(kGroup, fout - o0));
                    for (int g = 0; g < group; ++g) {
                        load_grad_tile(t_.at(tile), o0 + g, grad_out, s.block.data());
                        tiles_.forward(s.block.data(), 1.0f, s.staging.data() + g * stride_, s.pruned.data());
                    }
                    scatter_group(s.staging.data(), stride_, group, t_.freqs, h_, tile * fout + o0);
                }
            });
        }
        if (!grads.weights.empty()) weight_gradient(in, grads.weights, mode == Accumulate::Add);
        if (!grads.input.empty()) input_gradient(w, grads.input, mode == Accumulate::Add);
    }

    std::vector<std::pair<std::string, double>> phase_seconds() const override { return clock_.phases(); }

    std::string describe() const override
    {
        return "tiles " + core::to_string(t_.tile) + " in " + core::to_string(t_.n) + " transforms, " +
               std::to_string(t_.count) + " tiles";
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

    /// One thread's working memory.
    struct Scratch {
        core::AlignedBuffer<cfloat> staging;  // kGroup interleaved spectra, stride_ apart
        core::AlignedBuffer<float> real;      // one n³ tile
        core::AlignedBuffer<float> pruned;    // pruned-transform rows
        core::AlignedBuffer<float> block;     // one kernel
    };

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
        const std::int64_t groups = ceil_div(pairs, kGroup);
        threads_.run(groups, share(groups), [&](std::int64_t begin, std::int64_t end, int thread) {
            Scratch& s = scratch_[static_cast<std::size_t>(thread)];
            for (std::int64_t item = begin; item < end; ++item) {
                const std::int64_t first = item * kGroup;  // pair = o·F_in + i
                const int group = static_cast<int>(std::min<std::int64_t>(kGroup, pairs - first));
                for (int g = 0; g < group; ++g) {
                    const TensorView<const float> kernel = w.values.channel(first + g);
                    const float* values = kernel.data();
                    if (!kernel.is_contiguous()) {
                        tensor::copy(kernel, TensorView<float>(s.block.data(), kernel.shape()));
                        values = s.block.data();
                    }
                    kernels_.forward(values, scale, s.staging.data() + g * stride_, s.pruned.data());
                }
                scatter_group(s.staging.data(), stride_, group, t_.freqs, w_, first);
            }
        });
        w_version_ = w.version;
    }

    void input_spectra(TensorView<const float> in)
    {
        const auto scope = clock_.measure("input fft");
        const std::int64_t fin = problem().in_channels;
        x_.resize(t_.blocks, t_.count * fin);
        const std::int64_t groups = ceil_div(fin, kGroup);
        threads_.run(t_.count * groups, share(t_.count * groups), [&](std::int64_t begin, std::int64_t end, int thread) {
            Scratch& s = scratch_[static_cast<std::size_t>(thread)];
            for (std::int64_t item = begin; item < end; ++item) {
                const std::int64_t tile = item / groups, i0 = item % groups * kGroup;
                const int group = static_cast<int>(std::min<std::int64_t>(kGroup, fin - i0));
                for (int g = 0; g < group; ++g) {
                    load_input_tile(t_.at(tile), i0 + g, in, s.real.data());
                    forward_plan_->r2c(s.real.data(), s.staging.data() + g * stride_);
                }
                scatter_group(s.staging.data(), stride_, group, t_.freqs, x_, tile * fin + i0);
            }
        });
        x_source_ = in.data();
        x_shape_ = in.shape();
        x_strides_ = in.strides();
    }
    /// Copies the n³ input voxels of a tile (zero beyond the input) into real.
    void load_input_tile(const Tiling::Tile& tile, std::int64_t i, TensorView<const float> in, float* real) const
    {
        const Vec3i& n = t_.n;
        const Vec3i& s = t_.dilation;
        const Vec3i& I = t_.in_size;
        const std::int64_t channel = tile.image * problem().in_channels + i;
        for (std::int64_t z = 0; z < n.z; ++z) {
            const std::int64_t iz = (tile.origin.z + z) * s.z + tile.phase.z;
            for (std::int64_t y = 0; y < n.y; ++y) {
                float* dst = real + (z * n.y + y) * n.x;
                const std::int64_t iy = (tile.origin.y + y) * s.y + tile.phase.y;
                if (iz >= I.z || iy >= I.y) {
                    std::fill(dst, dst + n.x, 0.0f);
                    continue;
                }
                const float* src = in.row(channel, iz, iy);
                const std::int64_t x0 = tile.origin.x * s.x + tile.phase.x;
                const std::int64_t valid = std::clamp<std::int64_t>((I.x - x0 + s.x - 1) / s.x, 0, n.x);
                if (s.x == 1) {
                    std::memcpy(dst, src + x0, static_cast<std::size_t>(valid) * sizeof(float));
                } else {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x] = src[x0 + x * s.x];
                }
                std::fill(dst + valid, dst + n.x, 0.0f);
            }
        }
    }

    /// Copies the t³ output-gradient voxels of a tile into block (zero beyond the output).
    void load_grad_tile(const Tiling::Tile& tile, std::int64_t o, TensorView<const float> grad_out, float* block) const
    {
        const Vec3i& t = t_.tile;
        const Vec3i& s = t_.dilation;
        const Vec3i& O = t_.out_size;
        const std::int64_t channel = tile.image * problem().out_channels + o;
        std::fill(block, block + t.product(), 0.0f);
        for (std::int64_t z = 0; z < t.z; ++z) {
            const std::int64_t oz = (tile.origin.z + z) * s.z + tile.phase.z;
            if (tile.origin.z + z >= t_.sub_out.z || oz >= O.z) break;
            for (std::int64_t y = 0; y < t.y; ++y) {
                const std::int64_t oy = (tile.origin.y + y) * s.y + tile.phase.y;
                if (tile.origin.y + y >= t_.sub_out.y || oy >= O.y) break;
                const float* src = grad_out.row(channel, oz, oy);
                float* dst = block + (z * t.y + y) * t.x;
                const std::int64_t x0 = tile.origin.x * s.x + tile.phase.x;
                const std::int64_t valid = std::clamp<std::int64_t>(
                    std::min((O.x - x0 + s.x - 1) / s.x, t_.sub_out.x - tile.origin.x), 0, t.x);
                if (s.x == 1) {
                    std::memcpy(dst, src + x0, static_cast<std::size_t>(valid) * sizeof(float));
                } else {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x] = src[x0 + x * s.x];
                }
            }
        }
    }

    /// Writes (or adds) an output tile (t³ values, C order) where it belongs in `out`.
    void store_output_tile(const Tiling::Tile& tile, std::int64_t o, const float* block, TensorView<float> out, bool add) const
    {
        const Vec3i& t = t_.tile;
        const Vec3i& s = t_.dilation;
        const Vec3i& O = t_.out_size;
        const std::int64_t channel = tile.image * problem().out_channels + o;
        for (std::int64_t z = 0; z < t.z; ++z) {
            const std::int64_t oz = (tile.origin.z + z) * s.z + tile.phase.z;
            if (tile.origin.z + z >= t_.sub_out.z || oz >= O.z) break;
            for (std::int64_t y = 0; y < t.y; ++y) {
                const std::int64_t oy = (tile.origin.y + y) * s.y + tile.phase.y;
                if (tile.origin.y + y >= t_.sub_out.y || oy >= O.y) break;
                const float* src = block + (z * t.y + y) * t.x;
                float* dst = out.row(channel, oz, oy);
                const std::int64_t x0 = tile.origin.x * s.x + tile.phase.x;
                const std::int64_t valid = std::clamp<std::int64_t>(
                    std::min((O.x - x0 + s.x - 1) / s.x, t_.sub_out.x - tile.origin.x), 0, t.x);
                if (s.x == 1) {
                    float* d = dst + x0;
                    if (add) {
                        for (std::int64_t x = 0; x < valid; ++x) d[x] += src[x];
                    } else {
                        std::memcpy(d, src, static_cast<std::size_t>(valid) * sizeof(float));
                    }
                } else if (add) {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x0 + x * s.x] += src[x];
                } else {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x0 + x * s.x] = src[x];
                }
            }
        }
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
        // Overlap-add: tiles of one (image, phase, map) overlap, so each such group of maps is one item.
        // Groups are made small enough for every thread to get several items.
        const std::int64_t images = t_.batch * t_.phases;
        const std::int64_t per_group = std::clamp<std::int64_t>(images * fin / (4 * threads_.threads()), 1, kGroup);
        const std::int64_t groups = ceil_div(fin, per_group);
        threads_.run(images * groups, 1, [&](std::int64_t begin, std::int64_t end, int thread) {
            Scratch& s = scratch_[static_cast<std::size_t>(thread)];
            for (std::int64_t item = begin; item < end; ++item) {
                const std::int64_t i0 = item % groups * per_group;
                const std::int64_t image_phase = item / groups;
                const int group = static_cast<int>(std::min(per_group, fin - i0));
                for (std::int64_t j = 0; j < t_.per_phase; ++j) {
                    const std::int64_t tile = image_phase * t_.per_phase + j;
                    gather_group(z_, tile * fin + i0, group, t_.freqs, s.staging.data(), stride_);
                    for (int g = 0; g < group; ++g) {
                        inverse_plan_->c2r(s.staging.data() + g * stride_, s.real.data());
                        add_input_tile(t_.at(tile), i0 + g, s.real.data(), grad_in);
                    }
                }
            }
        });
    }

    /// Adds a tile's full correlation (n voxels per axis, already shifted into place) into grad_in.
    void add_input_tile(const Tiling::Tile& tile, std::int64_t i, const float* real, TensorView<float> grad_in) const
    {
        const Vec3i& n = t_.n;
        const Vec3i& s = t_.dilation;
        const Vec3i& I = t_.in_size;
        const std::int64_t channel = tile.image * problem().in_channels + i;
        const std::int64_t x0 = tile.origin.x * s.x + tile.phase.x;
        const std::int64_t valid = std::clamp<std::int64_t>((I.x - x0 + s.x - 1) / s.x, 0, n.x);
        for (std::int64_t z = 0; z < n.z; ++z) {
            const std::int64_t iz = (tile.origin.z + z) * s.z + tile.phase.z;
            if (iz >= I.z) break;
            for (std::int64_t y = 0; y < n.y; ++y) {
                const std::int64_t iy = (tile.origin.y + y) * s.y + tile.phase.y;
                if (iy >= I.y) break;
                const float* __restrict__ src = real + (z * n.y + y) * n.x;
                float* __restrict__ dst = grad_in.row(channel, iz, iy) + x0;
                if (s.x == 1) {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x] += src[x];
                } else {
                    for (std::int64_t x = 0; x < valid; ++x) dst[x * s.x] += src[x];
                }
            }
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
        constexpr double kChunkBytes = 8 << 20;
        const double bytes_per_map = static_cast<double>(t_.blocks * fin * kBlockFloats) * sizeof(float);
        std::int64_t chunk = std::clamp<std::int64_t>(static_cast<std::int64_t>(kChunkBytes / bytes_per_map), 1, fout);
        if (chunk > kTileM) chunk -= chunk % kTileM;  // whole register tiles
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
            const std::int64_t groups = ceil_div(pairs, kGroup);
            threads_.run(groups, share(groups), [&](std::int64_t begin, std::int64_t end, int thread) {
                Scratch& s = scratch_[static_cast<std::size_t>(thread)];
                for (std::int64_t item = begin; item < end; ++item) {
                    const std::int64_t first = item * kGroup;
                    const int group = static_cast<int>(std::min<std::int64_t>(kGroup, pairs - first));
                    gather_group(g_, first, group, t_.freqs, s.staging.data(), stride_);
                    for (int g = 0; g < group; ++g) {
                        kernels_.inverse(s.staging.data() + g * stride_, scale, s.block.data(), s.pruned.data());
                        // Lag m of the correlation is kernel index K − 1 − m.
                        const float* lag = s.block.data();
                        const std::int64_t pair = o0 * fin + first + g;
                        for (std::int64_t z = 0; z < K.z; ++z)
                            for (std::int64_t y = 0; y < K.y; ++y)
                                for (std::int64_t x = 0; x < K.x; ++x) {
                                    const float v = lag[(z * K.y + y) * K.x + x];
                                    float& dst = grad_w(pair, K.z - 1 - z, K.y - 1 - y, K.x - 1 - x);
                                    dst = add ? dst + v : v;
                                }
                    }
                }
            });
        }
    }

    core::ParallelFor& threads_;
    Tiling t_;
    const fft::Plan* forward_plan_;
    const fft::Plan* inverse_plan_;
    fft::PrunedTransform kernels_;  // kernel (K³ at the origin) <-> spectrum
    fft::PrunedTransform tiles_;    // tile (t³ at the origin) <-> spectrum
    core::AlignedBuffer<float> shift_phase_;    // per block: e^{+2πi f·(K−1)/n}, split complex
    core::AlignedBuffer<float> unshift_phase_;  // per block: e^{−2πi f·(K−1)/n}
    std::int64_t stride_;  // complex values between staged spectra
    std::vector<Scratch> scratch_;
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

std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context)
{
    if (context.fft_tile) {
        const Tiling any = make_tiling(problem, Vec3i{1, 1, 1});
        Vec3i tile = max(min(*context.fft_tile, any.sub_out), Vec3i{1, 1, 1});
        for (int a = 0; a < 3; ++a)
            if (problem.kernel[a] == 1) tile[a] = 1;  // never transform along an axis the kernel does not span
        return std::make_unique<FftEngine>(problem, context, make_tiling(problem, tile));
    }
    const std::vector<Tiling> candidates = ranked_tilings(problem, context.plans, context.usage, 3);
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
