#include <gtest/gtest.h>
#include <tiffio.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "support/temp_dir.hpp"
#include "support/tensor_fill.hpp"
#include "znn/io/tiff.hpp"

using namespace znn;
using namespace znn::io;
using core::Box3;
using core::DType;
using tensor::AnyTensor;
using tensor::Shape4;
using tensor::Tensor;

namespace {

std::string input_error(const std::function<void()>& f)
{
    try {
        f();
    } catch (const core::InputError& e) {
        return e.what();
    }
    return "(no InputError)";
}

/// Writes pages with libtiff directly: each page gets `setup(tif, page)` then its rows.
void write_with_libtiff(const std::string& path, int pages, const std::function<void(TIFF*, int)>& setup,
                        const std::function<void(TIFF*, int)>& write_rows)
{
    TIFF* tif = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(tif, nullptr);
    for (int p = 0; p < pages; ++p) {
        setup(tif, p);
        write_rows(tif, p);
        TIFFWriteDirectory(tif);
    }
    TIFFClose(tif);
}

/// An independent, minimal big-endian TIFF writer producing ImageJ's large-stack layout: one IFD
/// describing the first slice, `images=N` in the description, all N slices stored back to back.
void write_imagej_raw_stack(const std::string& path, const std::vector<std::uint16_t>& data, int images, int height,
                            int width)
{
    std::string out;
    auto u16 = [&](std::uint32_t v) {
        out += static_cast<char>(v >> 8);
        out += static_cast<char>(v & 0xFF);
    };
    auto u32 = [&](std::uint32_t v) {
        u16(v >> 16);
        u16(v & 0xFFFF);
    };
    const std::string desc =
        "ImageJ=1.53c\nimages=" + std::to_string(images) + "\nslices=" + std::to_string(images) + "\n";
    const int entries = 9;
    const std::uint32_t ifd = 8;
    const std::uint32_t desc_at = ifd + 2 + 12 * entries + 4;
    const std::uint32_t data_at = desc_at + static_cast<std::uint32_t>(desc.size() + 1);
    out += "MM";
    u16(42);
    u32(ifd);
    u16(entries);
    auto entry = [&](std::uint16_t tag, std::uint16_t type, std::uint32_t count, std::uint32_t value) {
        u16(tag);
        u16(type);
        u32(count);
        if (type == 3 && count == 1) {  // SHORT: left-justified in the value field
            u16(value);
            u16(0);
        } else {
            u32(value);
        }
    };
    entry(256, 3, 1, static_cast<std::uint32_t>(width));
    entry(257, 3, 1, static_cast<std::uint32_t>(height));
    entry(258, 3, 1, 16);
    entry(259, 3, 1, 1);
    entry(262, 3, 1, 1);
    entry(270, 2, static_cast<std::uint32_t>(desc.size() + 1), desc_at);
    entry(273, 4, 1, data_at);
    entry(278, 3, 1, static_cast<std::uint32_t>(height));
    entry(279, 4, 1, static_cast<std::uint32_t>(width * height * 2));
    u32(0);
    out += desc;
    out += '\0';
    for (std::uint16_t v : data)
        u16(v);
    std::ofstream(path, std::ios::binary) << out;
}

}  // namespace

TEST(Tiff, EveryDTypeRoundTripsInBothByteOrders)
{
    test::TempDir dir;
    int seed = 0;
    for (DType dtype : core::kAllDTypes)
        for (ByteOrder order : {ByteOrder::Little, ByteOrder::Big})
            for (bool deflate : {false, true}) {
                const AnyTensor in =
                    test::random_any(dtype, Shape4{1, {5, 13, 17}}, 3, static_cast<std::uint64_t>(++seed));
                const std::string path = dir.file("rt.tif");
                write_tiff(path, in, {order, deflate});
                const TiffInfo info = tiff_info(path);
                EXPECT_EQ(info.big_endian, order == ByteOrder::Big);
                EXPECT_EQ(info.dtype, dtype);
                EXPECT_EQ(info.shape, in.shape());
                EXPECT_EQ(info.imagej, dtype == DType::UInt8 || dtype == DType::UInt16 || dtype == DType::Float32);
                const AnyTensor out = read_tiff(path);
                EXPECT_EQ(out.ndim(), 3);
                EXPECT_TRUE(test::same_tensor(in, out))
                    << core::to_string(dtype) << (order == ByteOrder::Big ? " big" : " little");
            }
}

TEST(Tiff, SinglePagesAndHyperstackChannels)
{
    test::TempDir dir;
    const AnyTensor page = test::random_any(DType::UInt16, Shape4{1, {1, 20, 30}}, 2, 3);
    write_tiff(dir.file("page.tif"), page);
    const AnyTensor page_back = read_tiff(dir.file("page.tif"));
    EXPECT_EQ(page_back.ndim(), 2);
    EXPECT_TRUE(test::same_tensor(page, page_back));

    const AnyTensor channels = test::random_any(DType::Float32, Shape4{3, {4, 6, 7}}, 4, 4);
    write_tiff(dir.file("hyper.tif"), channels);
    const TiffInfo info = tiff_info(dir.file("hyper.tif"));
    EXPECT_EQ(info.shape, (Shape4{3, {4, 6, 7}}));
    EXPECT_EQ(info.ndim, 4);
    EXPECT_TRUE(test::same_tensor(channels, read_tiff(dir.file("hyper.tif"))));
}

TEST(Tiff, SubBoxReadsOnlyWhatIsAsked)
{
    test::TempDir dir;
    const AnyTensor in = test::random_any(DType::Int16, Shape4{1, {9, 11, 13}}, 3, 5);
    write_tiff(dir.file("s.tif"), in);
    const Box3 box{{2, 3, 4}, {5, 6, 7}};
    const AnyTensor part = read_tiff(dir.file("s.tif"), box);
    ASSERT_EQ(part.shape(), (Shape4{1, box.size}));
    for (int z = 0; z < 5; ++z)
        for (int y = 0; y < 6; ++y)
            for (int x = 0; x < 7; ++x)
                ASSERT_EQ(part.as<std::int16_t>()(0, z, y, x), in.as<std::int16_t>()(0, z + 2, y + 3, x + 4));
    EXPECT_NE(input_error([&] {
                  read_tiff(dir.file("s.tif"), Box3{{5, 0, 0}, {5, 1, 1}});
              }).find("outside the stack of size 9,11,13"),
              std::string::npos);
}

TEST(Tiff, RgbLabelStacksBecomeIds)
{
    test::TempDir dir;
    const std::string path = dir.file("rgb.tif");
    const int w = 5, h = 3;
    auto rgb = [](int p, int y, int x) {
        return std::array<std::uint8_t, 3>{std::uint8_t(p * 50 + x), std::uint8_t(y * 7), std::uint8_t(200 + x)};
    };
    write_with_libtiff(
        path, 2,
        [&](TIFF* tif, int) {
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
            TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
            TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
            TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 2);
        },
        [&](TIFF* tif, int p) {
            for (int y = 0; y < h; ++y) {
                std::vector<std::uint8_t> row;
                for (int x = 0; x < w; ++x)
                    for (std::uint8_t v : rgb(p, y, x))
                        row.push_back(v);
                TIFFWriteScanline(tif, row.data(), static_cast<std::uint32_t>(y), 0);
            }
        });
    const AnyTensor ids = read_tiff(path);
    ASSERT_EQ(ids.dtype(), DType::UInt32);
    ASSERT_EQ(ids.shape(), (Shape4{1, {2, h, w}}));
    EXPECT_TRUE(tiff_info(path).rgb_labels);
    for (int p = 0; p < 2; ++p)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const auto c = rgb(p, y, x);
                EXPECT_EQ(ids.as<std::uint32_t>()(0, p, y, x), c[0] * 65536u + c[1] * 256u + c[2]);
            }
}

TEST(Tiff, BilevelMasksAndTiledPages)
{
    test::TempDir dir;
    const int w = 37, h = 3;
    write_with_libtiff(
        dir.file("mask.tif"), 1,
        [&](TIFF* tif, int) {
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, h);
        },
        [&](TIFF* tif, int) {
            for (int y = 0; y < h; ++y) {
                std::vector<std::uint8_t> row((w + 7) / 8, 0);
                for (int x = 0; x < w; ++x)
                    if ((x + y) % 3 == 0) row[x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
                TIFFWriteScanline(tif, row.data(), static_cast<std::uint32_t>(y), 0);
            }
        });
    const AnyTensor mask = read_tiff(dir.file("mask.tif"));
    ASSERT_EQ(mask.dtype(), DType::UInt8);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            EXPECT_EQ(mask.as<std::uint8_t>()(0, 0, y, x), (x + y) % 3 == 0 ? 1 : 0);

    // Tiles of 16×16 over a 23×40 page: partial tiles on both edges.
    const int tw = 40, th = 23;
    write_with_libtiff(
        dir.file("tiled.tif"), 2,
        [&](TIFF* tif, int) {
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, tw);
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, th);
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 32);
            TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            TIFFSetField(tif, TIFFTAG_TILEWIDTH, 16);
            TIFFSetField(tif, TIFFTAG_TILELENGTH, 16);
            TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        },
        [&](TIFF* tif, int p) {
            std::vector<float> tile(16 * 16);
            for (int ty = 0; ty < th; ty += 16)
                for (int tx = 0; tx < tw; tx += 16) {
                    for (int y = 0; y < 16; ++y)
                        for (int x = 0; x < 16; ++x)
                            tile[static_cast<std::size_t>(y * 16 + x)] =
                                static_cast<float>(p * 10000 + (ty + y) * 100 + tx + x);
                    TIFFWriteTile(tif, tile.data(), static_cast<std::uint32_t>(tx), static_cast<std::uint32_t>(ty), 0,
                                  0);
                }
        });
    const AnyTensor tiled = read_tiff(dir.file("tiled.tif"));
    ASSERT_EQ(tiled.shape(), (Shape4{1, {2, th, tw}}));
    for (int p = 0; p < 2; ++p)
        for (int y = 0; y < th; ++y)
            for (int x = 0; x < tw; ++x)
                ASSERT_EQ(tiled.as<float>()(0, p, y, x), static_cast<float>(p * 10000 + y * 100 + x));
}

TEST(Tiff, ImageJLargeStackLayoutIsReadWithByteSwapping)
{
    test::TempDir dir;
    const int images = 4, h = 3, w = 5;
    std::vector<std::uint16_t> data(static_cast<std::size_t>(images * h * w));
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint16_t>(i * 997 + 3);
    write_imagej_raw_stack(dir.file("ij.tif"), data, images, h, w);
    const TiffInfo info = tiff_info(dir.file("ij.tif"));
    EXPECT_TRUE(info.imagej);
    EXPECT_TRUE(info.big_endian);
    EXPECT_EQ(info.shape, (Shape4{1, {images, h, w}}));
    const AnyTensor stack = read_tiff(dir.file("ij.tif"));
    ASSERT_EQ(stack.dtype(), DType::UInt16);
    for (std::size_t i = 0; i < data.size(); ++i)
        ASSERT_EQ(stack.as<std::uint16_t>().span()[i], data[i]);
    const AnyTensor part = read_tiff(dir.file("ij.tif"), Box3{{2, 1, 1}, {2, 2, 3}});
    EXPECT_EQ(part.as<std::uint16_t>()(0, 1, 1, 2), data[static_cast<std::size_t>((3 * h + 2) * w + 3)]);

    // Announcing more images than the file holds is a clear error, not an out-of-bounds read.
    std::filesystem::resize_file(dir.file("ij.tif"), std::filesystem::file_size(dir.file("ij.tif")) - 10);
    EXPECT_NE(input_error([&] { read_tiff(dir.file("ij.tif")); }).find("ImageJ stack is truncated at image 3"),
              std::string::npos);
}

TEST(Tiff, BadInputGivesClearErrorsNamingThePath)
{
    test::TempDir dir;
    EXPECT_EQ(input_error([&] { read_tiff(dir.file("none.tif")); }), dir.file("none.tif") + ": no such file");
    std::ofstream(dir.file("text.tif")) << "plain text, not a TIFF";
    EXPECT_EQ(input_error([&] {
                  read_tiff(dir.file("text.tif"));
              }).rfind(dir.file("text.tif") + ": not a readable TIFF file", 0),
              0u);

    // Pages of different sizes.
    write_with_libtiff(
        dir.file("mixed.tif"), 2,
        [&](TIFF* tif, int p) {
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 4 + p);
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 3);
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        },
        [&](TIFF* tif, int p) {
            std::vector<std::uint8_t> row(static_cast<std::size_t>(4 + p), 1);
            for (std::uint32_t y = 0; y < 3; ++y)
                TIFFWriteScanline(tif, row.data(), y, 0);
        });
    EXPECT_NE(input_error([&] {
                  read_tiff(dir.file("mixed.tif"));
              }).find("page 1 (5x3, 8-bit, 1 sample(s), format 1) differs from page 0"),
              std::string::npos);

    // Two samples per pixel is neither grayscale nor RGB.
    write_with_libtiff(
        dir.file("two.tif"), 1,
        [&](TIFF* tif, int) {
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 2);
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 2);
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 2);
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        },
        [&](TIFF* tif, int) {
            std::uint8_t row[4] = {1, 2, 3, 4};
            for (std::uint32_t y = 0; y < 2; ++y)
                TIFFWriteScanline(tif, row, y, 0);
        });
    EXPECT_NE(input_error([&] { read_tiff(dir.file("two.tif")); }).find("unsupported page with 2 samples per pixel"),
              std::string::npos);

    // A truncated stack: cut inside the pixel data of a deflate stack.
    const AnyTensor big = test::random_any(DType::Float32, Shape4{1, {6, 64, 64}}, 3, 9);
    write_tiff(dir.file("cut.tif"), big, {ByteOrder::Native, true});
    std::filesystem::resize_file(dir.file("cut.tif"), std::filesystem::file_size(dir.file("cut.tif")) / 2);
    EXPECT_EQ(input_error([&] { read_tiff(dir.file("cut.tif")); }).rfind(dir.file("cut.tif") + ": ", 0), 0u);
}

TEST(Tiff, WritingIsAtomicAndReportsItsLibrary)
{
    test::TempDir dir;
    EXPECT_THROW(write_tiff(dir.file("no/such/dir/x.tif"), test::random_any(DType::UInt8, Shape4{1, {1, 2, 2}}, 3, 1)),
                 core::InputError);
    write_tiff(dir.file("ok.tif"), test::random_any(DType::UInt8, Shape4{1, {2, 2, 2}}, 3, 1));
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"ok.tif"}));  // no temporary left behind
    EXPECT_EQ(tiff_version().rfind("LIBTIFF, Version 4.", 0), 0u);
}

TEST(Tiff, ReadsARealImageJStackFromScikitImage)
{
    // A 30x32x32 big-endian ImageJ stack shipped by Debian's python3-skimage (tools/install-deps
    // installs it). Expected values were read with tifffile: uint8, sum 1020765, 4003 non-zero
    // voxels, the first of them at (0, 0, 17), (0, 1, 8), (0, 1, 9).
    const std::string path = "/usr/lib/python3/dist-packages/skimage/data/_blobs_3d_fiji_skeleton.tif";
    ASSERT_TRUE(std::filesystem::exists(path)) << "install python3-skimage (tools/install-deps)";
    const TiffInfo info = tiff_info(path);
    EXPECT_EQ(info.dtype, core::DType::UInt8);
    EXPECT_EQ(info.shape, (tensor::Shape4{1, {30, 32, 32}}));
    const tensor::AnyTensor v = read_tiff(path);
    const tensor::Tensor<std::uint8_t>& t = v.as<std::uint8_t>();
    std::int64_t sum = 0, nonzero = 0;
    std::vector<core::Vec3i> first;
    for (std::int64_t z = 0; z < 30; ++z)
        for (std::int64_t y = 0; y < 32; ++y)
            for (std::int64_t x = 0; x < 32; ++x) {
                sum += t(0, z, y, x);
                if (t(0, z, y, x) == 0) continue;
                ++nonzero;
                if (first.size() < 3) first.push_back({z, y, x});
            }
    EXPECT_EQ(sum, 1020765);
    EXPECT_EQ(nonzero, 4003);
    EXPECT_EQ(first, (std::vector<core::Vec3i>{{0, 0, 17}, {0, 1, 8}, {0, 1, 9}}));
}
