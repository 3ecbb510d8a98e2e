#include "znn/data/volume_check.hpp"

#include <algorithm>

#include "znn/core/error.hpp"

namespace znn::data {
namespace {

/// The element-wise smallest shape of `files`; a difference is an error unless `auto_crop`.
std::optional<core::Vec3i> common_shape(const std::vector<CheckedVolume>& files, bool auto_crop, const std::string& what,
                                        const std::string& where, config::Diagnostics& d)
{
    core::Vec3i m = files.front().info.shape.zyx;
    bool differ = false;
    for (const CheckedVolume& f : files) {
        differ = differ || f.info.shape.zyx != m;
        m = min(m, f.info.shape.zyx);
    }
    if (differ && !auto_crop) {
        std::string shapes;
        for (const CheckedVolume& f : files) shapes += "\n    " + f.uri.str() + ": " + core::to_string(f.info.shape.zyx);
        d.error_at(where, what + " volumes differ in size and is_auto_crop is off:" + shapes);
        return std::nullopt;
    }
    return m;
}

}  // namespace

std::optional<CheckedVolume> check_volume(const std::string& address, const std::string& where, config::Diagnostics& d)
{
    try {
        CheckedVolume v{io::VolumeUri::parse(address), {}};
        v.info = io::volume_info(v.uri);
        if (v.info.shape.count() == 0) {
            d.error_at(where, v.uri.str() + ": the volume is empty");
            return std::nullopt;
        }
        return v;
    } catch (const core::Error& e) {
        d.error_at(where, e.what());
        return std::nullopt;
    }
}

std::optional<CheckedImage> check_image(const config::ImageSection& image, config::Diagnostics& d)
{
    CheckedImage c;
    for (const std::string& f : image.files)
        if (auto v = check_volume(f, image.files_where.empty() ? image.where : image.files_where, d)) {
            c.channels += v->info.shape.c;
            c.files.push_back(*v);
        }
    if (c.files.empty() || c.files.size() != image.files.size()) return std::nullopt;
    const auto shape = common_shape(c.files, image.auto_crop, "image", image.where, d);
    if (!shape) return std::nullopt;
    c.shape = *shape;
    return c;
}

std::optional<CheckedLabel> check_label(const config::LabelSection& label, config::Diagnostics& d)
{
    auto l = check_volume(label.file, label.file_where.empty() ? label.where : label.file_where, d);
    std::optional<CheckedVolume> m;
    if (label.mask) m = check_volume(*label.mask, label.mask_where.empty() ? label.where : label.mask_where, d);
    if (!l || (label.mask && !m)) return std::nullopt;
    bool ok = true;
    for (const CheckedVolume* v : {&*l, m ? &*m : nullptr}) {
        if (v && v->info.shape.c != 1) {
            d.error_at(label.where, v->uri.str() + ": " + (v == &*l ? "a label volume" : "a mask") + " has one channel, this one has " +
                                        std::to_string(v->info.shape.c));
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    CheckedLabel c{*l, m, l->info.shape.zyx};
    if (m) {
        const auto shape = common_shape({*l, *m}, label.auto_crop, "label and mask", label.where, d);
        if (!shape) return std::nullopt;
        c.shape = *shape;
    }
    return c;
}

std::optional<tensor::NonFinite> find_non_finite(const CheckedVolume& v)
{
    if (!core::dtype_is_float(v.info.dtype)) return std::nullopt;
    // Rounds of whole sections of about 64 MiB as floats: one read (and one open of the file) each.
    const core::Vec3i size = v.info.shape.zyx;
    const std::int64_t section_bytes = std::max<std::int64_t>(1, v.info.shape.c * size.y * size.x * 4);
    const std::int64_t per_round = std::max<std::int64_t>(1, (std::int64_t{64} << 20) / section_bytes);
    std::optional<tensor::NonFinite> found;
    for (std::int64_t z = 0; z < size.z; z += per_round) {
        const core::Box3 round{{z, 0, 0}, {std::min(per_round, size.z - z), size.y, size.x}};
        const tensor::Tensor<float> sections = io::read_volume(v.uri, round).to<float>();
        const auto bad = tensor::find_non_finite(sections.cview());
        if (!bad) continue;
        if (!found) found = tensor::NonFinite{bad->channel, bad->at + round.origin, 0};
        found->count += bad->count;
    }
    return found;
}

}  // namespace znn::data
