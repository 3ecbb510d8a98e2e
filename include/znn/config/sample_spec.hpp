#pragma once
/// @file
/// @brief SampleSpec: the `.spec` files of the original ZNN (reference §3), validated.
///
///     [image1]                        [label1]                        [sample1]
///     fnames = raw.tif                fnames = seg.h5:/volumes/ids    input = 1     # node = image id
///     pp_types = standard2D           pp_types = auto                 output = 1    # node = label id
///     is_auto_crop = yes              fmasks = mask.tif
///
/// The sections may be in the `.spec` named by `fdata_spec`, or in the `.cfg` itself (both are read
/// like one file, as the original did). `fnames`/`fmasks` list one or more volumes, separated by
/// commas and/or line breaks (the original needed a comma at the end of a line); each may be an HDF5
/// address `file.h5:/path` (CREMI-style files) or a TIFF stack, and a relative path is relative to
/// the directory of the file that names it. Several image files are stacked as channels.
///
/// The keys of `[sampleN]` are network node names; whether `N` means `[imageN]` or `[labelN]`
/// depends on whether the node is an input or an output of the network, so bindings are kept as
/// written and resolved with resolve().

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/path_base.hpp"

namespace znn::config {

/// Input preprocessing (`pp_types` of `[imageN]`, reference §3.3).
enum class Preprocess { None, Standard2D, Standard3D, SymmetricRescale };
std::string_view to_string(Preprocess p) noexcept;

/// @brief `[imageN]`: one network input, one or more channels.
struct ImageSection {
    std::int64_t id = 0;
    std::vector<std::string> files;         ///< volume addresses, one per channel
    std::vector<Preprocess> preprocess;     ///< one per file
    bool auto_crop = true;                  ///< centre-crop files of different sizes to the smallest
    std::string where;                      ///< `file:line` of the header
    std::string files_where;                ///< `file:line` of `fnames` (the header's when absent)
};

/// @brief `[labelN]`: the ground truth of one network output.
struct LabelSection {
    std::int64_t id = 0;
    std::string file;                       ///< the label volume (segment IDs, or classes)
    std::string pp_type = "auto";           ///< accepted as the original did; out_type decides the targets
    bool auto_crop = true;
    std::optional<std::string> mask;        ///< voxels with mask > 0 train
    std::string where;
    std::string file_where;                 ///< `file:line` of `fnames` (the header's when absent)
    std::string mask_where;                 ///< `file:line` of `fmasks`
};

/// @brief `[sampleN]`: which sections feed which network nodes.
struct SampleSection {
    struct Binding {
        std::string node;  ///< network node name
        std::int64_t id;   ///< N of [imageN] (input nodes) or [labelN] (output nodes)
        std::string where;
    };
    std::int64_t id = 0;
    std::vector<Binding> bindings;
    std::string where;
};

/// @brief A sample with its bindings resolved against the network's input and output node names.
struct ResolvedSample {
    std::int64_t id = 0;
    std::string where;  ///< `file:line` of the [sampleN] header
    std::map<std::string, const ImageSection*> inputs;   ///< input node -> image
    std::map<std::string, const LabelSection*> outputs;  ///< output node -> label (empty: inference only)
};

/// @brief All the sample sections of a job.
struct SampleSpec {
    std::map<std::int64_t, ImageSection> images;
    std::map<std::int64_t, LabelSection> labels;
    std::map<std::int64_t, SampleSection> samples;

    /// Reads every `[imageN]`, `[labelN]`, `[sampleN]` of `ini`; problems go to `diagnostics`.
    static SampleSpec from_ini(const IniFile& ini, Diagnostics& diagnostics);
    /// The same, with each file's path directory decided by `bases` (made for the same `ini`).
    static SampleSpec from_ini(const IniFile& ini, PathBases& bases, Diagnostics& diagnostics);

    /// Resolves sample `id` for a network with these input and output node names: every input node
    /// must be bound to an existing image, output nodes to existing labels when `need_labels`.
    /// Problems go to `diagnostics`; the result is nullopt if there were any.
    std::optional<ResolvedSample> resolve(std::int64_t id, const std::set<std::string>& input_nodes,
                                          const std::set<std::string>& output_nodes, bool need_labels,
                                          Diagnostics& diagnostics) const;
};

}  // namespace znn::config
