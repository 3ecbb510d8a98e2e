#pragma once
// Batched 3D real FFTs for the tiled FFT engine: kLanes volumes at once, one volume per SIMD lane.
// Per-path code (compiled once per SIMD path, in namespace fft::avx2 and fft::avx512; see
// core/simd_begin.hpp): include it only from files compiled the same way.
//
// Why not FFTW here: the tiled engine transforms thousands of small volumes (20³ for a 7³ kernel)
// per step, and stores every spectrum "block-major" (kLanes frequencies per block, real parts then
// imaginary parts) for its per-frequency products. Debian's FFTW has no AVX-512/FMA codelets and
// writes interleaved complex, so each FFTW transform was followed by a reshuffle into blocks; the
// two together took half of a training step of a 40 → 40, 7³ layer (perf). Here every butterfly
// works on whole registers (lane g = volume g), lines are transformed in L1, and the spectra leave
// in block layout through in-register transposes. FFTW is the reference these transforms are tested
// against (tests/support); it is faster only for volumes whose batch outgrows L2, which the engine's
// tiling, ranked by measured times of this code, does not choose (tools/bench/results/README.md).
//
// Spectra are the r2c half-spectra of n.z × n.y × n.x volumes, n.z · n.y · (n.x/2 + 1) complex
// values in C order, unnormalised (forward sign −1, inverse +1), exactly as FFTW's r2c/c2r.

#include <cstdint>
#include <vector>

#include "znn/core/parallel_for.hpp"
#include "znn/core/vec3.hpp"
#include "znn/fft/simd.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::fft::ZNN_SIMD_NS {

/// Where one lane's real volume comes from, or goes to: the voxel (z, y, x) of the block at the
/// origin is at base + z·stride.z + y·stride.y + x·stride.x; voxels at or beyond `valid` (per axis)
/// read as zero and are not written. A null base is an all-zero volume (forward only).
struct LaneVolume {
    const float* base = nullptr;
    core::Vec3i stride{0, 0, 1};
    core::Vec3i valid{0, 0, 0};
};
struct LaneTarget {
    float* base = nullptr;
    core::Vec3i stride{0, 0, 1};
    core::Vec3i valid{0, 0, 0};
    bool add = false;  ///< add to the target instead of overwriting it
};

/// One 1D complex transform length and direction, as radix stages (Stockham, natural order).
struct LinePlan {
    struct Stage {
        int radix = 1;
        std::int64_t done = 1;    // transform length completed before this stage (L)
        std::int64_t rows = 1;    // n / (L · radix)
        std::vector<float> twiddles;  // [f < L][q < radix − 1]: cos, sin of sign·2π·f·(q+1)/(L·radix)
    };
    std::int64_t n = 1;
    int sign = -1;
    std::vector<Stage> stages;
    std::vector<float> roots;  // per odd radix r: cos, sin of sign·2π·j/r for j < r, concatenated

    LinePlan() = default;
    LinePlan(std::int64_t length, int direction);
};

class LaneFft {
public:
    static constexpr int kLanes = Wide::kLanes;
    static constexpr int kBlockFloats = 2 * kLanes;

    explicit LaneFft(const core::Vec3i& n);

    const core::Vec3i& n() const noexcept { return n_; }
    std::int64_t freqs() const noexcept { return freqs_; }
    std::int64_t blocks() const noexcept { return (freqs_ + kLanes - 1) / kLanes; }
    /// Floats of working memory forward() and inverse() need (per concurrent caller, 64-byte
    /// aligned), when they run on `threads` threads.
    std::int64_t work_floats(int threads = 1) const noexcept;

    /// Spectra of `count` (≤ kLanes) volumes, each times `scale`. Spectrum g goes to dst[g] in block
    /// layout: block b at dst[g] + b·block_stride (kLanes real parts, then kLanes imaginary parts;
    /// frequencies beyond freqs() are zero). `block` bounds the non-zero part of every volume
    /// (a pruned transform: the block's rows and planes only). With `streaming` the spectra are
    /// written past the caches (for arrays far larger than the last-level cache). With `threads`
    /// every pass is split over them (for when there are fewer batches than threads); `work` must
    /// then hold work_floats(threads->threads()).
    void forward(const LaneVolume* src, int count, const core::Vec3i& block, float scale, float* const* dst,
                 std::int64_t block_stride, float* work, bool streaming = false, core::ParallelFor* threads = nullptr) const;

    /// The inverse of `count` spectra in block layout (read from src[g] + b·block_stride), times
    /// `scale`; only the `block` at the origin is computed, and written (or added) to dst[g]. With
    /// `threads`, as in forward(), and then no two targets may overlap (rows run concurrently).
    void inverse(const float* const* src, std::int64_t block_stride, int count, const core::Vec3i& block, float scale,
                 const LaneTarget* dst, float* work, core::ParallelFor* threads = nullptr) const;

private:
    std::int64_t line_floats() const noexcept;  // one thread's line buffers

    core::Vec3i n_;
    std::int64_t nxc_;
    std::int64_t freqs_;
    LinePlan fwd_[3], inv_[3];  // z, y, x
};

}  // namespace znn::fft::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
