#pragma once
/// @file
/// @brief Addresses of volumes: `file.h5:/path/to/dataset`, `file.h5` (dataset `/main`), `stack.tif`.

#include <string>
#include <string_view>

namespace znn::io {

/// Volume file formats, decided by the file extension.
enum class FileFormat { Hdf5, Tiff };

/// The dataset used when an HDF5 address names none: `/main`, the convention of the original ZNN,
/// chunkflow and PyTorch Connectomics outputs.
inline constexpr std::string_view kDefaultDataset = "/main";

/// @brief A parsed volume address.
struct VolumeUri {
    std::string path;     ///< file path
    std::string dataset;  ///< HDF5 dataset path (always starting with '/'); empty for TIFF
    FileFormat format = FileFormat::Hdf5;

    /// Parses `file.h5[:/dataset]` or `file.tif[f]`. The dataset separator is the first ":/" after
    /// which the file part has an HDF5 extension (.h5, .hdf5, .hdf, .he5). Throws InputError naming
    /// the text when the extension is not a known volume format or a TIFF address has a dataset.
    static VolumeUri parse(std::string_view text);

    /// Back to text: `path:/dataset` for HDF5, `path` for TIFF.
    std::string str() const;
};

/// The format of a path by its extension (case-insensitive); throws InputError for others.
FileFormat format_of_path(std::string_view path);

}  // namespace znn::io
