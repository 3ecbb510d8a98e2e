// The FFT convolution engine: tiled overlap-save with reused transforms.
//
// Dilation first: a convolution with taps s apart is, for each phase r (0 <= r < s per axis), an
// ordinary dense convolution of the sub-volume in(q·s + r) with the dense kernel; its outputs land on
// out(q·s + r). So every (image, phase) pair is a dense problem, and all of them share the kernel.
//
// Tiling: each dense output is cut into tiles of t voxels per axis; a tile needs t + K − 1 input
// voxels, and n = t + K − 1 is chosen among sizes the transforms (fft/lane_fft.hpp) are fast at,
// by measurement (fft_tiling, fft_autotune). Then:
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

#include "fft_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"
#include "znn/fft/lane_fft.hpp"

#include "spectral_product.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {

using fft::ZNN_SIMD_NS::LaneFft;
using fft::ZNN_SIMD_NS::LaneTarget;
using fft::ZNN_SIMD_NS::LaneVolume;

namespace {

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
                spectral_product({w_.at(fb, 0), fin, 1, x_.at(fb, 0), 1, fin, y_.at(fb, 0), 1, fout, fout, t_.count, fin,
                             shift_phase_.data() + fb * kBlockFloats}, false);
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
                spectral_product({w_.at(fb, 0), 1, fin, h_.at(fb, 0), 1, fout, z_.at(fb, 0), 1, fin, fin, t_.count, fout,
                            unshift_phase_.data() + fb * kBlockFloats}, true);
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
                    spectral_product({h_.at(fb, o0), 1, fout, x_.at(fb, 0), fin, 1, g_.at(fb, 0), fin, 1, maps, fin, t_.count}, true);
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

}  // namespace

std::unique_ptr<ConvEngine> make_tiled_fft_engine(const ConvProblem& problem, const ConvContext& context, const Tiling& tiling)
{
    return std::make_unique<FftEngine>(problem, context, tiling);
}

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
