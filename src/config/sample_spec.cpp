#include "znn/config/sample_spec.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "znn/config/values.hpp"

namespace znn::config {
namespace {

/// "image12" -> 12 for prefix "image"; nullopt otherwise.
std::optional<std::int64_t> section_id(const std::string& name, std::string_view prefix)
{
    if (name.rfind(prefix, 0) != 0) return std::nullopt;
    const std::string rest = name.substr(prefix.size());
    if (rest.empty() || !std::all_of(rest.begin(), rest.end(), [](unsigned char c) { return std::isdigit(c); }))
        return std::nullopt;
    return parse_int(rest);
}

std::optional<Preprocess> parse_preprocess(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    if (text == "standard2d") return Preprocess::Standard2D;
    if (text == "standard3d") return Preprocess::Standard3D;
    if (text == "symetric_rescale" || text == "symmetric_rescale") return Preprocess::SymmetricRescale;
    if (text.find("none") != std::string::npos) return Preprocess::None;  // the original accepted any "...none..."
    return std::nullopt;
}

void unknown_keys(const IniSection& s, const std::vector<std::string>& known, Diagnostics& d)
{
    for (const IniEntry& e : s.entries)
        if (std::find(known.begin(), known.end(), e.key) == known.end()) {
            const std::string guess = closest_match(e.key, known);
            d.error(e.file, e.line,
                    "unknown key '" + e.key + "' in [" + s.name + "]" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
        }
}

std::vector<std::string> resolved_files(const IniEntry& e, PathBases& bases)
{
    std::vector<std::string> files;
    for (const std::string& f : split_list(e.value)) files.push_back(resolve_path(f, bases.of(e.file).directory));
    return files;
}

bool read_bool(const IniSection& s, std::string_view key, bool fallback, Diagnostics& d)
{
    const IniEntry* e = s.find(key);
    if (!e) return fallback;
    const auto b = parse_bool(e->value);
    if (!b) {
        d.error(e->file, e->line, std::string(key) + ": expected yes or no, got '" + e->value + "'");
        return fallback;
    }
    return *b;
}

}  // namespace

std::string_view to_string(Preprocess p) noexcept
{
    switch (p) {
    case Preprocess::None: return "none";
    case Preprocess::Standard2D: return "standard2D";
    case Preprocess::Standard3D: return "standard3D";
    case Preprocess::SymmetricRescale: return "symetric_rescale";
    }
    return "none";
}

SampleSpec SampleSpec::from_ini(const IniFile& ini, Diagnostics& d)
{
    PathBases bases(ini);
    return from_ini(ini, bases, d);
}

SampleSpec SampleSpec::from_ini(const IniFile& ini, PathBases& bases, Diagnostics& d)
{
    SampleSpec spec;
    for (const IniSection& s : ini.sections()) {
        const std::string where = s.file + ":" + std::to_string(s.line);
        if (const auto id = section_id(s.name, "image")) {
            unknown_keys(s, {"fnames", "pp_types", "is_auto_crop"}, d);
            ImageSection image{*id, {}, {}, read_bool(s, "is_auto_crop", true, d), where, where};
            const IniEntry* files = s.find("fnames");
            if (files) image.files_where = files->where();
            if (!files || split_list(files->value).empty()) {
                d.error(s.file, s.line, "[" + s.name + "] needs 'fnames' (the image volume files)");
            } else {
                image.files = resolved_files(*files, bases);
            }
            const IniEntry* pp = s.find("pp_types");
            const std::vector<std::string> types = pp ? split_list(pp->value) : std::vector<std::string>{};
            if (!image.files.empty() && !types.empty() && types.size() != 1 && types.size() != image.files.size())
                d.error(pp->file, pp->line,
                        "pp_types lists " + std::to_string(types.size()) + " types for " + std::to_string(image.files.size()) +
                            " files (give one type, or one per file)");
            std::set<std::string> reported;
            for (std::size_t f = 0; f < image.files.size(); ++f) {
                const std::string t = types.empty() ? "none" : types[types.size() == 1 ? 0 : std::min(f, types.size() - 1)];
                const auto p = parse_preprocess(t);
                if (!p && reported.insert(t).second)
                    d.error(pp->file, pp->line,
                            "unknown preprocessing '" + t + "' (standard2D, standard3D, symetric_rescale, none)");
                image.preprocess.push_back(p.value_or(Preprocess::None));  // one per file, always
            }
            spec.images[*id] = image;
        } else if (const auto lid = section_id(s.name, "label")) {
            unknown_keys(s, {"fnames", "pp_types", "is_auto_crop", "fmasks"}, d);
            LabelSection label{*lid, {}, "auto", read_bool(s, "is_auto_crop", true, d), std::nullopt, where, where, where};
            const IniEntry* files = s.find("fnames");
            if (files) label.file_where = files->where();
            const std::vector<std::string> list = files ? resolved_files(*files, bases) : std::vector<std::string>{};
            if (list.empty()) {
                d.error(s.file, s.line, "[" + s.name + "] needs 'fnames' (the label volume)");
            } else if (list.size() > 1) {
                d.error(files->file, files->line, "[" + s.name + "] lists " + std::to_string(list.size()) +
                                                      " label files; a label section has one volume");
            } else {
                label.file = list[0];
            }
            if (const IniEntry* pp = s.find("pp_types")) {
                const std::vector<std::string> types = split_list(pp->value);
                static const std::vector<std::string> known = {"auto", "binary_class", "affinity", "one_class", "none", "semantic"};
                for (const std::string& t : types)
                    if (std::find(known.begin(), known.end(), t) == known.end())
                        d.error(pp->file, pp->line, "unknown label type '" + t + "' (auto, binary_class, affinity, one_class, semantic, none)");
                if (!types.empty()) label.pp_type = types[0];
            }
            if (const IniEntry* masks = s.find("fmasks")) {
                const std::vector<std::string> m = resolved_files(*masks, bases);
                if (m.size() > 1) d.error(masks->file, masks->line, "[" + s.name + "] lists " + std::to_string(m.size()) + " masks; give one");
                if (!m.empty()) label.mask = m[0];
                label.mask_where = masks->where();
            }
            spec.labels[*lid] = label;
        } else if (const auto sid = section_id(s.name, "sample")) {
            SampleSection sample{*sid, {}, where};
            for (const IniEntry& e : s.entries) {
                const auto n = parse_int(e.value);
                if (!n) {
                    d.error(e.file, e.line, "'" + e.key + "' must be the number N of an [imageN] or [labelN], got '" + e.value + "'");
                    continue;
                }
                sample.bindings.push_back({e.key, *n, e.where()});
            }
            if (sample.bindings.empty()) d.error(s.file, s.line, "[" + s.name + "] binds no network node");
            spec.samples[*sid] = sample;
        }
    }
    // Every binding must name a section that exists (which kind it must be is known only with the net).
    for (const auto& [id, sample] : spec.samples)
        for (const auto& b : sample.bindings)
            if (!spec.images.count(b.id) && !spec.labels.count(b.id))
                d.error_at(b.where, "'" + b.node + " = " + std::to_string(b.id) + "': there is no [image" + std::to_string(b.id) +
                                        "] or [label" + std::to_string(b.id) + "]");
    return spec;
}

std::optional<ResolvedSample> SampleSpec::resolve(std::int64_t id, const std::set<std::string>& input_nodes,
                                                  const std::set<std::string>& output_nodes, bool need_labels,
                                                  Diagnostics& d) const
{
    const auto it = samples.find(id);
    if (it == samples.end()) {
        d.error_at("", "sample " + std::to_string(id) + " is not defined (no [sample" + std::to_string(id) + "])");
        return std::nullopt;
    }
    const SampleSection& s = it->second;
    const std::size_t errors_before = d.errors().size();
    ResolvedSample r;
    r.id = id;
    r.where = s.where;
    for (const auto& b : s.bindings) {
        if (input_nodes.count(b.node)) {
            const auto image = images.find(b.id);
            if (image == images.end())
                d.error_at(b.where, "input node '" + b.node + "' needs [image" + std::to_string(b.id) + "], which is not defined");
            else
                r.inputs[b.node] = &image->second;
        } else if (output_nodes.count(b.node)) {
            const auto label = labels.find(b.id);
            if (label == labels.end())
                d.error_at(b.where, "output node '" + b.node + "' needs [label" + std::to_string(b.id) + "], which is not defined");
            else
                r.outputs[b.node] = &label->second;
        } else {
            std::vector<std::string> nodes(input_nodes.begin(), input_nodes.end());
            nodes.insert(nodes.end(), output_nodes.begin(), output_nodes.end());
            const std::string guess = closest_match(b.node, nodes);
            d.error_at(b.where, "the network has no input or output node '" + b.node + "'" +
                                    (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
        }
    }
    for (const std::string& node : input_nodes)
        if (!r.inputs.count(node)) d.error_at(s.where, "[sample" + std::to_string(id) + "] gives no image for input node '" + node + "'");
    if (need_labels)
        for (const std::string& node : output_nodes)
            if (!r.outputs.count(node))
                d.error_at(s.where, "[sample" + std::to_string(id) + "] gives no label for output node '" + node + "' (needed to train)");
    if (d.errors().size() > errors_before) return std::nullopt;
    return r;
}

}  // namespace znn::config
