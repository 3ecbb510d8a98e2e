#pragma once
/// @file
/// @brief Multi-page TIFF stacks as volumes: one page per z-slice.
///
/// Reading accepts what EM labs produce with Fiji, tifffile, VAST and microscope software:
///  - 8/16/32/64-bit unsigned and signed integers, 32/64-bit floats, 1-bit masks (read as uint8 0/1);
///  - either byte order, strips or tiles, any compression libtiff decodes (none, LZW, deflate,
///    PackBits, ...), classic TIFF and BigTIFF;
///  - ImageJ stacks, including ImageJ's large-stack layout (one IFD, `images=N` in the description,
///    the slices stored back to back) and hyperstacks with `channels=C`, whose pages are ordered
///    (z, c) and are returned as (c, z, y, x); a description with channels but no slices or frames
///    (what tifffile writes for a 3D array without axes) is read as a z-stack, as tifffile returns it;
///  - 24-bit RGB label stacks (VAST exports), turned into uint32 IDs R·65536 + G·256 + B.
/// Every page must have the size and type of the first; anything else is an InputError naming the
/// file and page. A truncated or corrupt file is an InputError with libtiff's message, never a crash.
///
/// Writing produces a stack that Fiji opens as an image stack (an ImageJ description is added for
/// the types ImageJ supports: uint8, uint16, float32) and tifffile reads back as the same array.
/// A multi-channel volume is written in ImageJ's hyperstack order (pages z-major, c-minor).

#include <memory>
#include <optional>
#include <string>

#include "znn/core/vec3.hpp"
#include "znn/tensor/any_tensor.hpp"

namespace znn::io {

enum class ByteOrder { Native, Little, Big };

/// @brief What a TIFF stack holds, from its headers only.
struct TiffInfo {
    core::DType dtype = core::DType::UInt8;  ///< element type after reading (uint32 for RGB labels)
    tensor::Shape4 shape;                    ///< (c, z, y, x)
    int ndim = 3;                            ///< 2 for a single page, 3 for a stack, 4 with channels
    bool rgb_labels = false;                 ///< 24-bit RGB pages turned into IDs
    bool imagej = false;                     ///< has an ImageJ description
    bool big_endian = false;
};

/// @brief How to write a stack.
struct TiffWriteOptions {
    ByteOrder byte_order = ByteOrder::Native;
    bool deflate = false;  ///< compress pages with deflate (zlib); off by default for the widest support
};

/// Reads the headers of a TIFF stack (InputError if missing, not TIFF, or unsupported).
TiffInfo tiff_info(const std::string& path);

/// Reads a whole stack, or only the sub-box `box` (only the pages in its z range are decoded).
tensor::AnyTensor read_tiff(const std::string& path, const std::optional<core::Box3>& box = std::nullopt);

/// Writes `volume` as a multi-page stack, atomically (temporary file, then rename). BigTIFF is used
/// when the data exceed 2 GiB.
void write_tiff(const std::string& path, const tensor::AnyTensor& volume, const TiffWriteOptions& options = {});

/// @brief A stack written one page at a time (volumes larger than memory), atomically: nothing
/// appears at `path` until commit().
class TiffStackWriter {
public:
    /// A stack of `shape` (c, z, y, x) of `dtype`; pages go z-major, channel-minor (ImageJ's order).
    TiffStackWriter(const std::string& path, core::DType dtype, const tensor::Shape4& shape,
                    const TiffWriteOptions& options = {});
    ~TiffStackWriter();
    TiffStackWriter(const TiffStackWriter&) = delete;
    TiffStackWriter& operator=(const TiffStackWriter&) = delete;

    std::int64_t pages() const;
    /// The next page: y·x elements of dtype, rows contiguous.
    void write_page(const void* page);
    /// Finishes the file and renames it into place; every page must have been written.
    void commit();

private:
    struct State;
    std::unique_ptr<State> state_;
};

/// libtiff's version line, e.g. "LIBTIFF, Version 4.5.0".
std::string tiff_version();

}  // namespace znn::io
