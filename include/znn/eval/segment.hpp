#pragma once
/// @file
/// @brief Segmentations from network outputs: thresholded connected components of a boundary or
/// affinity map, made a stack of sections at a time and joined across the stacks afterwards.
///
/// Kinds of map (values in [0, 1]; uint8 outputs are divided by 255 first):
///  - interior: a voxel is inside a cell where its value > threshold (the boundary output's channel 0,
///    ISBI's "255 = cell interior"); inside voxels that are 6-neighbours join;
///  - membrane: inside where value < threshold (a membrane probability);
///  - affinity: channels x, y, z (the original's order); the affinity of voxel v on axis a joins v and
///    v − e_a where it is > threshold. A voxel with no such edge is background.
/// Background voxels get label 0. Every component is labelled 1 + the linear index (in the whole
/// scored box) of its first voxel, so labels are unique without coordination and the same whatever the
/// rank count or the size of the stacks. `planar` joins nothing along z (2D components per section).
///
/// A stack is labelled alone (`label_stack`); the labels of its first section and of the section
/// before it are joined by `face_pairs`, and `Joins` turns every pair of all ranks into a renaming of
/// labels to the smallest label of their component.
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "znn/tensor/tensor.hpp"

namespace znn::eval {

enum class MapKind { Labels, Interior, Membrane, Affinity };

/// "labels", "interior", "membrane", "affinity".
const char* to_string(MapKind kind) noexcept;
/// The kind named `name` (one of the above); nullopt for any other.
std::optional<MapKind> parse_map_kind(std::string_view name) noexcept;

/// @brief How a map becomes a segmentation.
struct Segmenter {
    MapKind kind = MapKind::Interior;
    std::int64_t channel = 0;  ///< interior, membrane: the channel used
    double threshold = 0.5;  ///< compared in double precision with the map's values
    bool planar = false;
};

/// Two labels of one component.
struct LabelPair {
    std::uint64_t a = 0, b = 0;
    friend bool operator==(const LabelPair&, const LabelPair&) = default;
};

/// Labels the sections [0, planes) of `map` (C, planes or planes + 1, Y, X): a last extra section,
/// when there is one, only gives the z-affinities of the next section (whether a voxel of the last
/// section has an edge). `first_index` is the linear index of map voxel (0, 0, 0) in the scored box.
/// A `first_index` above 0 means a section precedes the stack (its z-affinities join it).
/// Returns (1, planes, Y, X) labels.
tensor::Tensor<std::uint64_t> label_stack(tensor::TensorView<const float> map, std::int64_t planes,
                                          std::uint64_t first_index, const Segmenter& how);

/// The pairs of labels joined across the face between section `previous` (Y, X labels) and section
/// `first` (the first of a stack, Y, X labels). For affinity maps `z_affinity` is the z channel of
/// `first`'s section; other kinds join two non-background voxels. Appends to `pairs`.
void face_pairs(const std::uint64_t* previous, const std::uint64_t* first, const float* z_affinity, std::int64_t voxels,
                const Segmenter& how, std::vector<LabelPair>& pairs);

/// @brief Union-find over labels: the renaming of each joined label to the smallest of its component.
class Joins {
public:
    void join(std::uint64_t a, std::uint64_t b);
    /// Labels that change, with their new label.
    std::unordered_map<std::uint64_t, std::uint64_t> renaming();

private:
    std::uint64_t find(std::uint64_t a);
    std::unordered_map<std::uint64_t, std::uint64_t> parent_;
};

}  // namespace znn::eval
