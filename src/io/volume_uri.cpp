#include "znn/io/volume_uri.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "znn/core/error.hpp"

namespace znn::io {
namespace {

std::string lower_extension(std::string_view path)
{
    const auto slash = path.find_last_of('/');
    const auto dot = path.find_last_of('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
    std::string ext(path.substr(dot));
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

bool is_hdf5_extension(const std::string& ext)
{
    constexpr std::array kExt = {".h5", ".hdf5", ".hdf", ".he5"};
    return std::find(kExt.begin(), kExt.end(), ext) != kExt.end();
}

bool is_tiff_extension(const std::string& ext)
{
    return ext == ".tif" || ext == ".tiff";
}

}  // namespace

FileFormat format_of_path(std::string_view path)
{
    const std::string ext = lower_extension(path);
    if (is_hdf5_extension(ext)) return FileFormat::Hdf5;
    if (is_tiff_extension(ext)) return FileFormat::Tiff;
    throw core::InputError("unknown volume format (extension '" + ext +
                           "'); use .h5/.hdf5 (optionally with :/dataset) or .tif/.tiff")
        .at(path);
}

VolumeUri VolumeUri::parse(std::string_view text)
{
    if (text.empty()) throw core::InputError("empty volume address");
    // Find a ":/" whose left side is an HDF5 file name.
    for (std::size_t pos = text.find(":/"); pos != std::string_view::npos; pos = text.find(":/", pos + 1)) {
        const std::string_view file = text.substr(0, pos);
        if (is_hdf5_extension(lower_extension(file))) {
            std::string dataset(text.substr(pos + 1));
            while (dataset.size() > 1 && dataset.back() == '/')
                dataset.pop_back();
            if (dataset == "/") throw core::InputError("the dataset path is empty").at(text);
            return {std::string(file), dataset, FileFormat::Hdf5};
        }
        if (is_tiff_extension(lower_extension(file)))
            throw core::InputError("a TIFF stack has no datasets; drop the ':" + std::string(text.substr(pos + 1)) +
                                   "'")
                .at(text);
    }
    const FileFormat format = format_of_path(text);
    if (format == FileFormat::Hdf5) return {std::string(text), std::string(kDefaultDataset), format};
    return {std::string(text), {}, format};
}

std::string VolumeUri::str() const
{
    return format == FileFormat::Hdf5 ? path + ":" + dataset : path;
}

}  // namespace znn::io
