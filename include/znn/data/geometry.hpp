#pragma once
/// @file
/// @brief Where patches lie in volumes: the original's centre convention (reference §5.3).
///
/// A patch is addressed by its **deviation** d from the centre of every volume it is cut from, so
/// volumes of different sizes (an image and its smaller label) stay centre-aligned:
///
///     centre(V)      = (shape(V) − 1) // 2
///     low margin(p)  = (p − 1) // 2          high margin(p) = p // 2
///     box(V, d, p)   = [centre(V) + d − low margin(p), centre(V) + d + high margin(p)]
///
/// The candidate deviations of a sample are those whose boxes lie inside every volume (inputs
/// mirrored by `is_bd_mirror` count with their padding) and, with masks, whose label centre voxel
/// is masked in.
///
/// Fetch sizes: what is cut from a volume can be larger than the network's patch: one voxel more per
/// axis for affinity outputs (the first input voxel is then dropped, §3.4), and 2·m more in y and x
/// for a misalignment shift of up to m voxels. With xy transposes or rotations a patch is fetched
/// with y and x swapped, so candidates must fit both orientations.

#include <cstdint>
#include <map>
#include <string>

#include "znn/config/job_config.hpp"
#include "znn/core/vec3.hpp"

namespace znn::data {

using core::Box3;
using core::Vec3i;

/// @brief The patch sizes of a network: what training cuts for each input and output node.
struct PatchGeometry {
    std::map<std::string, Vec3i> inputs;   ///< input node -> input patch size (output + FOV − 1)
    std::map<std::string, Vec3i> outputs;  ///< output node -> output patch size

    /// The smallest output size (element-wise): the reference for fields of view.
    Vec3i output_size() const;
    /// Field of view of an input node: input − output + 1.
    Vec3i fov(const std::string& input_node) const;
};

/// (p − 1) // 2 per axis.
constexpr Vec3i low_margin(Vec3i p) { return {(p.z - 1) / 2, (p.y - 1) / 2, (p.x - 1) / 2}; }
/// p // 2 per axis.
constexpr Vec3i high_margin(Vec3i p) { return {p.z / 2, p.y / 2, p.x / 2}; }
/// (shape − 1) // 2 per axis.
constexpr Vec3i volume_centre(Vec3i shape) { return low_margin(shape); }

/// The box of a patch of size p at deviation d in a volume of `shape`.
constexpr Box3 patch_box(Vec3i shape, Vec3i d, Vec3i p) { return {volume_centre(shape) + d - low_margin(p), p}; }

/// The deviations at which a patch of size p lies inside a volume of `shape` (empty if none).
Box3 deviation_range(Vec3i shape, Vec3i p);

/// The same size with y and x swapped.
constexpr Vec3i swap_yx(Vec3i s) { return {s.z, s.x, s.y}; }

/// @brief How much more than the network's patch is cut from the volumes.
struct FetchRule {
    bool affinity = false;        ///< +1 voxel per axis (inputs and labels)
    std::int64_t misalign = 0;    ///< +2·misalign in y and x (when the label patch has z > 1)
    bool either_orientation = false;  ///< y and x may be swapped (transpose, rot90)

    static FetchRule of(config::OutType out_type, const config::Augmentation& augment, const PatchGeometry& g);
    /// The size fetched for a patch of size p.
    Vec3i fetch(Vec3i p) const;
    /// The deviations at which a fetched patch (for patch p, in any allowed orientation) fits `shape`.
    Box3 deviations(Vec3i shape, Vec3i p) const;
    /// The volume region the fetched patches (any orientation) cover for deviations in `devs`.
    Box3 coverage(Vec3i shape, Vec3i p, const Box3& devs) const;
};

}  // namespace znn::data
