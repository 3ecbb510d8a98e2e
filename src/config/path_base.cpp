#include "znn/config/path_base.hpp"

#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "znn/config/values.hpp"

namespace znn::config {
namespace {

namespace fs = std::filesystem;

/// Keys whose values are files that must exist before a run (outputs are not evidence).
constexpr std::string_view kInputKeys[] = {"fnet_spec", "fdata_spec", "fnames", "fmasks"};

bool is_input_key(const std::string& key)
{
    for (std::string_view k : kInputKeys)
        if (key == k) return true;
    return false;
}

/// The file part of a volume address (`file.h5:/dataset` → `file.h5`); other paths as they are.
std::string file_part(const std::string& path)
{
    const std::size_t colon = path.find(":/");
    return colon == std::string::npos ? path : path.substr(0, colon);
}

/// How well `paths` are found under `base`: (files that exist, parent directories that exist).
std::pair<int, int> found_under(const fs::path& base, const std::vector<std::string>& paths)
{
    int files = 0, directories = 0;
    std::error_code ec;
    for (const std::string& p : paths) {
        const fs::path full = (base / p).lexically_normal();
        if (fs::exists(full, ec)) ++files;
        if (fs::is_directory(full.parent_path(), ec)) ++directories;
    }
    return {files, directories};
}

}  // namespace

PathBase choose_path_base(const IniFile& ini, const std::string& file)
{
    std::error_code ec;
    const fs::path own = fs::absolute(directory_of(file), ec).lexically_normal();
    PathBase base{own.string(), false, {}};
    const fs::path cwd = fs::current_path(ec);
    if (ec || cwd.lexically_normal() == own) return base;

    std::vector<std::string> inputs;
    std::vector<std::string> written;  // "key = value" of each input, for the evidence
    for (const IniSection& s : ini.sections())
        for (const IniEntry& e : s.entries) {
            if (e.file != file || !is_input_key(e.key)) continue;
            for (const std::string& item : split_list(e.value)) {
                const std::string path = file_part(item);
                if (path.empty() || path[0] == '/') continue;
                inputs.push_back(path);
                written.push_back(e.key + " = " + item);
            }
        }
    if (inputs.empty()) return base;
    const auto here = found_under(own, inputs);
    const auto there = found_under(cwd, inputs);
    if (there <= here) return base;  // lexicographic: files first, then their directories

    base.directory = cwd.lexically_normal().string();
    base.working_directory = true;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (!fs::exists((own / inputs[i]).lexically_normal(), ec) && fs::exists((cwd / inputs[i]).lexically_normal(), ec)) {
            base.evidence = written[i];
            break;
        }
    if (base.evidence.empty()) base.evidence = written.front();
    return base;
}

const PathBase& PathBases::of(const std::string& file)
{
    auto it = chosen_.find(file);
    if (it == chosen_.end()) it = chosen_.emplace(file, choose_path_base(ini_, file)).first;
    return it->second;
}

}  // namespace znn::config
