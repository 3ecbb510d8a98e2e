#include "znn/io/tiff.hpp"

#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "znn/core/error.hpp"
#include "znn/io/atomic_file.hpp"

namespace znn::io {
namespace {

using core::DType;
using core::InputError;

// ---- opening with captured messages -------------------------------------------------------------

/// libtiff reports problems through callbacks; these collect them per open file.
struct Messages {
    std::string errors;
};

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap)
{
    char text[1024];
    std::vsnprintf(text, sizeof(text), fmt, ap);
    auto& m = *static_cast<Messages*>(user);
    if (!m.errors.empty()) m.errors += "; ";
    if (module && *module) m.errors += std::string(module) + ": ";
    m.errors += text;
    return 1;  // handled: libtiff's default handler does not print to stderr
}

int on_warning(TIFF*, void*, const char*, const char*, va_list)
{
    return 1;
}  // unknown tags etc.: ignore

struct TiffCloser {
    void operator()(TIFF* t) const { TIFFClose(t); }
};

/// An open TIFF with its message sink (the sink must outlive the TIFF*).
struct TiffFile {
    std::unique_ptr<Messages> messages = std::make_unique<Messages>();
    std::unique_ptr<TIFF, TiffCloser> tif;
    std::string path;

    [[noreturn]] void fail(const std::string& what) const
    {
        std::string m = what;
        if (!messages->errors.empty()) m += " (libtiff: " + messages->errors + ")";
        throw InputError(m).at(path);
    }
};

TiffFile open_tiff(const std::string& path, const char* mode)
{
    TiffFile f;
    f.path = path;
    std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> opts(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
    TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, f.messages.get());
    TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, f.messages.get());
    f.tif.reset(TIFFOpenExt(path.c_str(), mode, opts.get()));
    return f;
}

TiffFile open_for_reading(const std::string& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError("no such file").at(path);
    if (fs::is_directory(path, ec)) throw InputError("is a directory, not a TIFF file").at(path);
    if (::access(path.c_str(), R_OK) != 0) throw InputError("permission denied (not readable)").at(path);
    TiffFile f = open_tiff(path, "r");
    if (!f.tif) f.fail("not a readable TIFF file");
    return f;
}

// ---- page layout ----------------------------------------------------------------------------------

struct PageFormat {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint16_t bits = 1;
    std::uint16_t samples = 1;
    std::uint16_t sample_format = SAMPLEFORMAT_UINT;
    std::uint16_t photometric = PHOTOMETRIC_MINISBLACK;
    std::uint16_t planar = PLANARCONFIG_CONTIG;
    std::uint16_t compression = COMPRESSION_NONE;
    bool tiled = false;

    bool same_layout(const PageFormat& o) const
    {
        return width == o.width && height == o.height && bits == o.bits && samples == o.samples &&
               sample_format == o.sample_format &&
               (photometric == PHOTOMETRIC_RGB) == (o.photometric == PHOTOMETRIC_RGB);
    }
    bool rgb() const { return photometric == PHOTOMETRIC_RGB; }
    std::string describe() const
    {
        return std::to_string(width) + "x" + std::to_string(height) + ", " + std::to_string(bits) + "-bit, " +
               std::to_string(samples) + " sample(s), format " + std::to_string(sample_format);
    }
};

PageFormat read_page_format(TIFF* tif)
{
    PageFormat p;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &p.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &p.height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &p.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &p.samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &p.sample_format);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &p.photometric))
        p.photometric = p.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &p.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &p.compression);
    p.tiled = TIFFIsTiled(tif) != 0;
    return p;
}

bool is_reduced_resolution(TIFF* tif)
{
    std::uint32_t subfile = 0;
    return TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile) && (subfile & FILETYPE_REDUCEDIMAGE);
}

/// The element type a page decodes to, or an explanation why it is unsupported.
DType page_dtype(const PageFormat& p, const TiffFile& f)
{
    if (p.rgb()) {
        if (p.bits != 8 || p.samples < 3)
            f.fail("unsupported RGB page (" + p.describe() + "); RGB label stacks must be 8 bits per channel");
        return DType::UInt32;
    }
    if (p.samples != 1)
        f.fail("unsupported page with " + std::to_string(p.samples) +
               " samples per pixel; use grayscale pages or 24-bit RGB labels");
    if (p.bits == 1) return DType::UInt8;
    const bool is_float = p.sample_format == SAMPLEFORMAT_IEEEFP;
    const bool is_signed = p.sample_format == SAMPLEFORMAT_INT;
    if (!is_float && p.sample_format != SAMPLEFORMAT_UINT && !is_signed)
        f.fail("unsupported sample format " + std::to_string(p.sample_format));
    switch (p.bits) {
        case 8:
            if (!is_float) return is_signed ? DType::Int8 : DType::UInt8;
            break;
        case 16:
            if (!is_float) return is_signed ? DType::Int16 : DType::UInt16;
            break;
        case 32: return is_float ? DType::Float32 : (is_signed ? DType::Int32 : DType::UInt32);
        case 64: return is_float ? DType::Float64 : (is_signed ? DType::Int64 : DType::UInt64);
        default: break;
    }
    f.fail("unsupported bit depth (" + p.describe() + ")");
}

// ---- ImageJ descriptions ----------------------------------------------------------------------------

struct ImageJInfo {
    bool present = false;
    std::int64_t images = 0;
    std::int64_t channels = 1;
    std::int64_t slices = 0;
    std::int64_t frames = 0;
};

ImageJInfo parse_imagej(TIFF* tif)
{
    ImageJInfo info;
    const char* desc = nullptr;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &desc) || !desc || std::strncmp(desc, "ImageJ=", 7) != 0)
        return info;
    info.present = true;
    const std::string text(desc);
    auto value = [&](const char* key) -> std::int64_t {
        const std::string k = std::string("\n") + key + "=";
        const auto pos = text.find(k);
        if (pos == std::string::npos) return 0;
        return std::atoll(text.c_str() + pos + k.size());
    };
    info.images = value("images");
    info.channels = std::max<std::int64_t>(1, value("channels"));
    info.slices = value("slices");
    info.frames = value("frames");
    return info;
}

// ---- decoding one page ---------------------------------------------------------------------------------

/// Decodes the current page into bytes of `height` rows × `width * samples * bits/8` (bits >= 8),
/// or packed bit rows for 1-bit pages; samples interleaved.
std::vector<std::uint8_t> decode_page(const TiffFile& f, const PageFormat& p, std::int64_t page)
{
    TIFF* tif = f.tif.get();
    const bool separate = p.planar == PLANARCONFIG_SEPARATE && p.samples > 1;
    const std::uint16_t samples_per_plane = separate ? 1 : p.samples;
    const std::size_t row_bytes = (static_cast<std::size_t>(p.width) * samples_per_plane * p.bits + 7) / 8;
    const std::size_t plane_bytes = row_bytes * p.height;
    const int planes = separate ? p.samples : 1;
    std::vector<std::uint8_t> planes_data(plane_bytes * static_cast<std::size_t>(planes));
    const std::string where = "page " + std::to_string(page);

    for (int s = 0; s < planes; ++s) {
        std::uint8_t* plane = planes_data.data() + plane_bytes * static_cast<std::size_t>(s);
        if (!p.tiled) {
            std::uint32_t rows_per_strip = 0;
            TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
            rows_per_strip = std::clamp<std::uint32_t>(rows_per_strip, 1, p.height);
            std::vector<std::uint8_t> strip(static_cast<std::size_t>(TIFFStripSize(tif)));
            for (std::uint32_t row = 0; row < p.height; row += rows_per_strip) {
                const std::uint32_t strip_index = TIFFComputeStrip(tif, row, static_cast<std::uint16_t>(s));
                const tmsize_t got =
                    TIFFReadEncodedStrip(tif, strip_index, strip.data(), static_cast<tmsize_t>(strip.size()));
                const std::uint32_t rows = std::min(rows_per_strip, p.height - row);
                if (got < 0 || static_cast<std::size_t>(got) < row_bytes * rows)
                    f.fail("cannot decode " + where + ", strip " + std::to_string(strip_index) +
                           " (truncated or corrupt file)");
                std::memcpy(plane + row_bytes * row, strip.data(), row_bytes * rows);
            }
        } else {
            if (p.bits < 8) f.fail("1-bit tiled TIFF pages are not supported");
            std::uint32_t tile_w = 0;
            std::uint32_t tile_h = 0;
            TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_w);
            TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_h);
            const std::size_t pixel_bytes = static_cast<std::size_t>(samples_per_plane) * p.bits / 8;
            std::vector<std::uint8_t> tile(static_cast<std::size_t>(TIFFTileSize(tif)));
            for (std::uint32_t y = 0; y < p.height; y += tile_h)
                for (std::uint32_t x = 0; x < p.width; x += tile_w) {
                    const std::uint32_t index = TIFFComputeTile(tif, x, y, 0, static_cast<std::uint16_t>(s));
                    if (TIFFReadEncodedTile(tif, index, tile.data(), static_cast<tmsize_t>(tile.size())) < 0)
                        f.fail("cannot decode " + where + ", tile " + std::to_string(index) +
                               " (truncated or corrupt file)");
                    const std::uint32_t rows = std::min(tile_h, p.height - y);
                    const std::size_t bytes = std::min(tile_w, p.width - x) * pixel_bytes;
                    for (std::uint32_t r = 0; r < rows; ++r)
                        std::memcpy(plane + (y + r) * row_bytes + x * pixel_bytes,
                                    tile.data() + r * tile_w * pixel_bytes, bytes);
                }
        }
    }
    if (!separate) return planes_data;
    // Interleave separate sample planes (8-bit RGB only reaches here).
    std::vector<std::uint8_t> out(plane_bytes * static_cast<std::size_t>(planes));
    for (std::size_t i = 0; i < plane_bytes; ++i)
        for (int s = 0; s < planes; ++s)
            out[i * static_cast<std::size_t>(planes) + static_cast<std::size_t>(s)] =
                planes_data[plane_bytes * static_cast<std::size_t>(s) + i];
    return out;
}

/// Copies the rows [box.origin.y, end) × columns [box.origin.x, end) of a decoded page into dst.
template <class T>
void place_page(const std::vector<std::uint8_t>& page, const PageFormat& p, const core::Box3& box, T* dst)
{
    const std::int64_t w = box.size.x;
    for (std::int64_t y = 0; y < box.size.y; ++y) {
        const std::int64_t src_y = box.origin.y + y;
        T* out = dst + y * w;
        if (p.rgb()) {
            const std::uint8_t* row = page.data() + static_cast<std::size_t>(src_y) * p.width * p.samples;
            for (std::int64_t x = 0; x < w; ++x) {
                const std::uint8_t* px = row + (box.origin.x + x) * p.samples;
                out[x] = static_cast<T>((std::uint32_t(px[0]) << 16) | (std::uint32_t(px[1]) << 8) | px[2]);
            }
        } else if (p.bits == 1) {
            const std::uint8_t* row = page.data() + static_cast<std::size_t>(src_y) * ((p.width + 7) / 8);
            for (std::int64_t x = 0; x < w; ++x) {
                const std::int64_t bit = box.origin.x + x;
                out[x] = static_cast<T>((row[bit / 8] >> (7 - bit % 8)) & 1);
            }
        } else {
            const std::uint8_t* row = page.data() + static_cast<std::size_t>(src_y) * p.width * sizeof(T);
            std::memcpy(out, row + box.origin.x * static_cast<std::int64_t>(sizeof(T)),
                        static_cast<std::size_t>(w) * sizeof(T));
        }
    }
}

/// Everything needed to read a stack, gathered from its headers.
struct StackLayout {
    PageFormat format;
    DType dtype = DType::UInt8;
    ImageJInfo imagej;
    std::int64_t pages = 0;     ///< full-resolution pages (IFDs), or ImageJ images in raw mode
    std::int64_t channels = 1;  ///< hyperstack channels
    bool imagej_raw = false;    ///< ImageJ large stack: one IFD, images stored back to back
    std::uint64_t raw_offset = 0;
    bool big_endian = false;

    std::int64_t depth() const { return pages / channels; }
};

StackLayout read_layout(const TiffFile& f)
{
    TIFF* tif = f.tif.get();
    StackLayout s;
    s.format = read_page_format(tif);
    s.dtype = page_dtype(s.format, f);
    s.imagej = parse_imagej(tif);
    s.big_endian = TIFFIsBigEndian(tif) != 0;
    if (s.format.width == 0 || s.format.height == 0) f.fail("page 0 has no pixels");

    std::int64_t page = 0;
    do {
        if (is_reduced_resolution(tif)) continue;  // thumbnails and pyramids are not slices
        const PageFormat p = read_page_format(tif);
        if (!p.same_layout(s.format))
            f.fail("page " + std::to_string(page) + " (" + p.describe() + ") differs from page 0 (" +
                   s.format.describe() + "); every page of a stack must have the same size and type");
        ++s.pages;
        ++page;
    } while (TIFFReadDirectory(tif));
    if (!f.messages->errors.empty()) f.fail("cannot read the page directory after page " + std::to_string(page - 1));

    if (s.imagej.present && s.imagej.images > s.pages) {
        // ImageJ writes stacks over 4 GiB (and sometimes smaller ones) as one IFD plus raw slices.
        if (s.pages != 1 || s.format.compression != COMPRESSION_NONE || s.format.tiled || s.format.bits < 8)
            f.fail("ImageJ description announces " + std::to_string(s.imagej.images) + " images but the file has " +
                   std::to_string(s.pages) + " pages");
        TIFFSetDirectory(tif, 0);
        std::uint64_t* offsets = nullptr;
        if (!TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offsets) || !offsets)
            f.fail("ImageJ stack without strip offsets");
        s.raw_offset = offsets[0];
        s.imagej_raw = true;
        s.pages = s.imagej.images;
    }
    // tifffile (imagej=True, no axes given) labels a plain z-stack as N channels of one slice; a volume of
    // many channels and a single slice is never meant in this field, so read it as the z-stack it is.
    if (s.imagej.present && s.imagej.channels > 1 && s.imagej.slices <= 1 && s.imagej.frames <= 1)
        s.imagej.channels = 1;
    if (s.imagej.present && s.imagej.channels > 1) {
        if (s.pages % s.imagej.channels != 0)
            f.fail("ImageJ hyperstack with " + std::to_string(s.imagej.channels) + " channels has " +
                   std::to_string(s.pages) + " pages, not a multiple");
        s.channels = s.imagej.channels;
    }
    return s;
}

}  // namespace

TiffInfo tiff_info(const std::string& path)
{
    TiffFile f = open_for_reading(path);
    const StackLayout s = read_layout(f);
    TiffInfo info;
    info.dtype = s.dtype;
    info.shape = {s.channels, {s.depth(), s.format.height, s.format.width}};
    info.ndim = s.channels > 1 ? 4 : (s.pages == 1 ? 2 : 3);
    info.rgb_labels = s.format.rgb();
    info.imagej = s.imagej.present;
    info.big_endian = s.big_endian;
    return info;
}

tensor::AnyTensor read_tiff(const std::string& path, const std::optional<core::Box3>& box_in)
{
    TiffFile f = open_for_reading(path);
    const StackLayout s = read_layout(f);
    const core::Vec3i full{s.depth(), s.format.height, s.format.width};
    const core::Box3 box = box_in.value_or(core::Box3{{}, full});
    if (!core::Box3{{}, full}.contains(box) || box.empty())
        throw InputError("box " + core::to_string(box) + " is empty or outside the stack of size " +
                         core::to_string(full) + " (z,y,x)")
            .at(path);
    const int ndim = s.channels > 1 ? 4 : (s.pages == 1 ? 2 : 3);
    tensor::AnyTensor out(s.dtype, tensor::Shape4{s.channels, box.size}, ndim, core::Init::Uninitialized);

    core::visit_dtype(s.dtype, [&]<class T>(core::TypeTag<T>) {
        tensor::Tensor<T>& t = out.as<T>();
        const core::Box3 plane_box{{0, box.origin.y, box.origin.x}, {1, box.size.y, box.size.x}};
        auto store = [&](std::int64_t page, const std::vector<std::uint8_t>& data) {
            const std::int64_t z = page / s.channels - box.origin.z;
            const std::int64_t c = page % s.channels;
            place_page<T>(data, s.format, plane_box, t.channel(c).box({{z, 0, 0}, {1, box.size.y, box.size.x}}).data());
        };
        const std::int64_t first_page = box.origin.z * s.channels;
        const std::int64_t end_page = box.end().z * s.channels;
        if (s.imagej_raw) {
            const std::size_t page_bytes = static_cast<std::size_t>(s.format.width) * s.format.height * sizeof(T);
            std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
            if (!file) throw InputError("cannot reopen for raw reading").at(path);
            std::vector<std::uint8_t> data(page_bytes);
            for (std::int64_t page = first_page; page < end_page; ++page) {
                const auto offset = static_cast<long>(s.raw_offset + page_bytes * static_cast<std::uint64_t>(page));
                if (std::fseek(file.get(), offset, SEEK_SET) != 0 ||
                    std::fread(data.data(), 1, page_bytes, file.get()) != page_bytes)
                    throw InputError("ImageJ stack is truncated at image " + std::to_string(page)).at(path);
                if (TIFFIsByteSwapped(f.tif.get()) && sizeof(T) > 1)
                    for (std::size_t i = 0; i < page_bytes; i += sizeof(T))
                        std::reverse(data.begin() + i, data.begin() + i + sizeof(T));
                store(page, data);
            }
            return;
        }
        TIFFSetDirectory(f.tif.get(), 0);
        std::int64_t page = 0;
        do {
            if (is_reduced_resolution(f.tif.get())) continue;
            if (page >= first_page) store(page, decode_page(f, s.format, page));
            ++page;
        } while (page < end_page && TIFFReadDirectory(f.tif.get()));
        if (page < end_page) f.fail("stack ended at page " + std::to_string(page));
    });
    return out;
}

/// @brief The state of a TiffStackWriter (kept out of the header: libtiff types).
struct TiffStackWriter::State {
    std::string path;
    AtomicFile atomic;
    TiffFile file;
    DType dtype;
    tensor::Shape4 shape;
    TiffWriteOptions options;
    bool imagej = false;
    std::string description;
    std::uint32_t rows_per_strip = 1;
    std::int64_t page = 0;
    std::vector<std::uint8_t> scratch;

    State(const std::string& p, DType t, const tensor::Shape4& s, const TiffWriteOptions& o)
        : path(p), atomic(p), dtype(t), shape(s), options(o)
    {
    }
};

TiffStackWriter::TiffStackWriter(const std::string& path, DType dtype, const tensor::Shape4& shape,
                                 const TiffWriteOptions& options)
{
    if (shape.count() == 0) throw InputError("cannot write an empty volume as TIFF").at(path);
    if (shape.zyx.y > 0xFFFFFFFFll || shape.zyx.x > 0xFFFFFFFFll) throw InputError("slice too large for TIFF").at(path);
    state_ = std::make_unique<State>(path, dtype, shape, options);
    State& st = *state_;
    st.imagej = dtype == DType::UInt8 || dtype == DType::UInt16 || dtype == DType::Float32;
    const bool big_tiff = static_cast<std::size_t>(shape.count()) * core::dtype_size(dtype) > (std::size_t(2) << 30);
    std::string mode = "w";
    if (options.byte_order == ByteOrder::Big) mode += "b";
    if (options.byte_order == ByteOrder::Little) mode += "l";
    if (big_tiff) mode += "8";
    st.file = open_tiff(st.atomic.temp_path(), mode.c_str());
    if (!st.file.tif) throw core::IoError("cannot create the TIFF file").at(path);
    const std::size_t row_bytes = static_cast<std::size_t>(shape.zyx.x) * core::dtype_size(dtype);
    st.rows_per_strip = static_cast<std::uint32_t>(
        std::clamp<std::size_t>((64u << 10) / row_bytes, 1, static_cast<std::size_t>(shape.zyx.y)));
    if (st.imagej) {
        const std::int64_t pages = shape.c * shape.zyx.z;
        st.description = "ImageJ=1.11a\nimages=" + std::to_string(pages) + "\n";
        if (shape.c > 1) st.description += "channels=" + std::to_string(shape.c) + "\n";
        st.description += "slices=" + std::to_string(shape.zyx.z) + "\n";
        if (shape.c > 1) st.description += "hyperstack=true\nmode=grayscale\n";
        st.description += "loop=false\n";
    }
}

TiffStackWriter::~TiffStackWriter() = default;

std::int64_t TiffStackWriter::pages() const
{
    return state_->shape.c * state_->shape.zyx.z;
}

void TiffStackWriter::write_page(const void* page_data)
{
    State& st = *state_;
    ZNN_CHECK(st.page < pages(), "TiffStackWriter: more pages than the stack holds");
    TIFF* tif = st.file.tif.get();
    const auto width = static_cast<std::uint32_t>(st.shape.zyx.x);
    const auto height = static_cast<std::uint32_t>(st.shape.zyx.y);
    const std::size_t elem = core::dtype_size(st.dtype);
    const std::size_t row_bytes = width * elem;
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, 0);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(8 * elem));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT,
                 core::dtype_is_float(st.dtype)
                     ? SAMPLEFORMAT_IEEEFP
                     : (core::dtype_is_signed(st.dtype) ? SAMPLEFORMAT_INT : SAMPLEFORMAT_UINT));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, st.rows_per_strip);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, st.options.deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE);
    if (st.page == 0 && st.imagej) TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, st.description.c_str());
    const auto* slice = static_cast<const std::uint8_t*>(page_data);
    for (std::uint32_t row = 0, strip = 0; row < height; row += st.rows_per_strip, ++strip) {
        const std::uint32_t rows = std::min(st.rows_per_strip, height - row);
        // libtiff byte-swaps (and may compress) in place: give it a copy, never the caller's data.
        st.scratch.assign(slice + row * row_bytes, slice + (row + rows) * row_bytes);
        if (TIFFWriteEncodedStrip(tif, strip, st.scratch.data(), static_cast<tmsize_t>(st.scratch.size())) < 0)
            throw core::IoError("cannot write page " + std::to_string(st.page) + ": " + st.file.messages->errors)
                .at(st.path);
    }
    if (!TIFFWriteDirectory(tif))
        throw core::IoError("cannot write page " + std::to_string(st.page) + ": " + st.file.messages->errors)
            .at(st.path);
    ++st.page;
}

void TiffStackWriter::commit()
{
    State& st = *state_;
    if (st.page != pages())
        throw core::InternalError("TiffStackWriter: " + std::to_string(st.page) + " of " + std::to_string(pages()) +
                                  " pages written");
    TIFF* raw = st.file.tif.release();
    TIFFClose(raw);  // flushes; errors land in the messages
    if (!st.file.messages->errors.empty())
        throw core::IoError("cannot finish the TIFF file: " + st.file.messages->errors).at(st.path);
    st.atomic.commit();
}

void write_tiff(const std::string& path, const tensor::AnyTensor& volume, const TiffWriteOptions& options)
{
    const tensor::Shape4& shape = volume.shape();
    TiffStackWriter writer(path, volume.dtype(), shape, options);
    const auto* base = static_cast<const std::uint8_t*>(volume.data());
    const std::size_t page_bytes =
        static_cast<std::size_t>(shape.zyx.y * shape.zyx.x) * core::dtype_size(volume.dtype());
    for (std::int64_t page = 0; page < writer.pages(); ++page) {
        const std::int64_t z = page / shape.c;  // ImageJ order: z-major, channel-minor
        const std::int64_t c = page % shape.c;
        writer.write_page(base + static_cast<std::size_t>(c * shape.zyx.z + z) * page_bytes);
    }
    writer.commit();
}

std::string tiff_version()
{
    std::string v = TIFFGetVersion();
    return v.substr(0, v.find('\n'));
}

}  // namespace znn::io
