#pragma once
// The FFT engine's tilings (per-path code, src/conv): how a problem is cut into tiles and transforms,
// the cost model that ranks tilings, and the workspace a tiling needs.
//
// Each dense output (one per image and dilation phase) is cut into tiles of t voxels per axis; a
// tile needs n = t + K − 1 input voxels, its transform size. Candidate sizes are those the transforms
// are fast at (7-smooth n); the model scores them with an N·log N estimate, then the best few again
// with measured transform times.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "znn/conv/engine.hpp"
#include "znn/core/vec3.hpp"

#include "spectral_product.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {

using core::Vec3i;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// One way to cut a problem into tiles.
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
    std::int64_t blocks = 1;  // ceil(freqs / kLanes)
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


/// The tiling of `p` with output tiles of `tile` voxels (per axis, in a phase's dense grid).
Tiling make_tiling(const ConvProblem& p, const Vec3i& tile);

/// How many tilings the model keeps for measurement.
constexpr std::size_t kModelCandidates = 8;

/// The (at most kModelCandidates) best tilings of `p` by the cost model with an N·log N transform
/// estimate, best first; the same on every call.
std::vector<Tiling> model_candidates(const ConvProblem& p, Usage usage);

/// The `count` most promising tilings of `p`, best first: model_candidates ranked again with measured
/// transform times (so the order, and the first `count`, can differ from call to call).
std::vector<Tiling> ranked_tilings(const ConvProblem& p, Usage usage, std::size_t count);

/// Output maps per chunk of the weight gradient (training).
std::int64_t weight_gradient_chunk(const Tiling& t, std::int64_t fin, std::int64_t fout);

/// Bytes an engine of tiling `t` holds while it runs, on `threads` threads.
std::size_t fft_workspace_bytes(const Tiling& t, const ConvProblem& p, Usage usage, int threads);

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
