#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "support/tensor_fill.hpp"
#include "znn/io/hdf5.hpp"

using namespace znn;
using namespace znn::io;
using core::Box3;
using core::DType;
using core::Vec3i;
using tensor::AnyTensor;
using tensor::Shape4;
using tensor::Tensor;

namespace {

void write_dataset(const std::string& path, const std::string& name, const AnyTensor& t, Hdf5WriteOptions options = {})
{
    Hdf5File file = Hdf5File::create(path);
    Hdf5Dataset ds = Hdf5Dataset::create(file, name, t.dtype(), t.shape(), t.ndim(), options);
    ds.write_any({0, 0, 0}, t);
    file.close();
}

/// Creates datasets znn itself never writes (other ranks, strings, compounds) with the raw HDF5 API.
void write_raw_datasets(const std::string& path)
{
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t d1[1] = {10};
    const hsize_t d5[5] = {1, 2, 2, 2, 2};
    hid_t s = H5Screate_simple(1, d1, nullptr);
    H5Dclose(H5Dcreate2(f, "/one_d", H5T_NATIVE_FLOAT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(s);
    s = H5Screate_simple(5, d5, nullptr);
    H5Dclose(H5Dcreate2(f, "/five_d", H5T_NATIVE_FLOAT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(s);
    const hsize_t d3[3] = {2, 2, 2};
    s = H5Screate_simple(3, d3, nullptr);
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 8);
    H5Dclose(H5Dcreate2(f, "/strings", str, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Tclose(str);
    H5Gclose(H5Gcreate2(f, "/volumes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Dclose(H5Dcreate2(f, "/volumes/raw", H5T_NATIVE_UINT8, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(s);
    H5Fclose(f);
}

template <class E> std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Hdf5, EveryDTypeAndRankRoundTrips)
{
    test::TempDir dir;
    int seed = 0;
    for (DType dtype : core::kAllDTypes) {
        for (int ndim : {2, 3, 4}) {
            const Shape4 shape = ndim == 4   ? Shape4{3, {4, 5, 6}}
                                 : ndim == 3 ? Shape4{1, {4, 5, 6}}
                                             : Shape4{1, {1, 7, 9}};
            const AnyTensor in = test::random_any(dtype, shape, ndim, static_cast<std::uint64_t>(++seed));
            const std::string path = dir.file("rt.h5");
            for (int gzip : {0, 4}) {
                write_dataset(path, "/a/b/vol", in, {gzip, std::nullopt});
                const Hdf5File f = Hdf5File::open(path, FileMode::Read);
                const Hdf5Dataset ds = Hdf5Dataset::open(f, "a/b/vol");
                EXPECT_EQ(ds.info().dtype, dtype);
                EXPECT_EQ(ds.info().shape, shape);
                EXPECT_EQ(ds.info().dims.size(), static_cast<std::size_t>(ndim));
                EXPECT_EQ(ds.info().gzip_level, gzip);
                const AnyTensor out = ds.read_all();
                EXPECT_EQ(out.ndim(), ndim);
                EXPECT_TRUE(test::same_tensor(in, out))
                    << core::to_string(dtype) << " ndim " << ndim << " gzip " << gzip;
            }
        }
    }
}

TEST(Hdf5, ReadsConvertElementTypes)
{
    test::TempDir dir;
    Tensor<std::uint16_t> t(1, {2, 3, 4});
    for (std::size_t i = 0; i < t.span().size(); ++i)
        t.span()[i] = static_cast<std::uint16_t>(i * 1000);
    write_dataset(dir.file("u16.h5"), "/main", AnyTensor(t, 3));
    const Hdf5File f = Hdf5File::open(dir.file("u16.h5"), FileMode::Read);
    const Hdf5Dataset ds = Hdf5Dataset::open(f, "/main");
    Tensor<float> as_float(1, {2, 3, 4});
    ds.read(Box3{{0, 0, 0}, {2, 3, 4}}, as_float.view());
    for (std::size_t i = 0; i < t.span().size(); ++i)
        EXPECT_EQ(as_float.span()[i], static_cast<float>(i * 1000));
}

TEST(Hdf5, SubBoxesAreReadAndWrittenWithoutTheWholeDataset)
{
    test::TempDir dir;
    const Shape4 shape{2, {9, 10, 11}};
    AnyTensor full = test::random_any(DType::Float32, shape, 4, 7);
    const auto& ref = full.as<float>();
    {
        // Write the dataset as 2×2×2 blocks of uneven size, each straight from a window of ref.
        Hdf5File file = Hdf5File::create(dir.file("boxes.h5"));
        Hdf5Dataset ds = Hdf5Dataset::create(file, "/main", DType::Float32, shape, 4, {1, Vec3i{4, 4, 4}});
        for (std::int64_t z : {0, 5})
            for (std::int64_t y : {0, 3})
                for (std::int64_t x : {0, 6}) {
                    const Box3 box{{z, y, x}, {z ? 4 : 5, y ? 7 : 3, x ? 5 : 6}};
                    ds.write<float>(box, ref.box(box));  // a non-contiguous source view
                }
    }
    const Hdf5File f = Hdf5File::open(dir.file("boxes.h5"), FileMode::Read);
    const Hdf5Dataset ds = Hdf5Dataset::open(f, "/main");
    EXPECT_TRUE(test::same_tensor(ds.read_all(), full));
    EXPECT_EQ(ds.info().chunks, (std::vector<std::int64_t>{1, 4, 4, 4}));

    const Box3 box{{2, 3, 4}, {5, 6, 7}};
    const AnyTensor part = ds.read_box(box);
    EXPECT_EQ(part.shape(), (Shape4{2, box.size}));
    for (int c = 0; c < 2; ++c)
        for (int z = 0; z < 5; ++z)
            for (int y = 0; y < 6; ++y)
                for (int x = 0; x < 7; ++x)
                    ASSERT_EQ(part.as<float>()(c, z, y, x), ref(c, z + 2, y + 3, x + 4));

    // One channel into a window of a larger tensor (non-contiguous destination).
    Tensor<double> big(1, {7, 8, 9});
    ds.read<double>(box, big.view().box({{1, 1, 1}, box.size}), Transfer::Independent, 1);
    EXPECT_EQ(big(0, 1, 1, 1), static_cast<double>(ref(1, 2, 3, 4)));
    EXPECT_EQ(big(0, 0, 0, 0), 0.0);

    const std::string outside = error_of<core::InputError>([&] { ds.read_box(Box3{{5, 0, 0}, {5, 1, 1}}); });
    EXPECT_NE(outside.find("boxes.h5:/main: box 5,0,0+5,1,1"), std::string::npos) << outside;
}

TEST(Hdf5, AttributesRoundTrip)
{
    test::TempDir dir;
    {
        Hdf5File file = Hdf5File::create(dir.file("attr.h5"));
        Hdf5Dataset ds = Hdf5Dataset::create(file, "/main", DType::UInt8, Shape4{1, {1, 2, 2}}, 3);
        ds.set_attribute("note", "résumé ✓");
        ds.set_attribute("note", "replaced");
        ds.set_attribute("resolution", std::vector<double>{40, 4, 4});
        file.set_attribute("znn_version", "0.1.0");
    }
    const Hdf5File f = Hdf5File::open(dir.file("attr.h5"), FileMode::Read);
    EXPECT_EQ(f.string_attribute("znn_version"), "0.1.0");
    EXPECT_FALSE(f.string_attribute("missing"));
    const Hdf5Dataset ds = Hdf5Dataset::open(f, "/main");
    EXPECT_EQ(ds.string_attribute("note"), "replaced");
    EXPECT_FALSE(ds.string_attribute("resolution"));  // not a string
}

TEST(Hdf5, BadInputGivesClearErrorsNamingThePath)
{
    test::TempDir dir;
    const std::string missing = dir.file("missing.h5");
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5File::open(missing, FileMode::Read); }), missing + ": no such file");
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5File::open(dir.path(), FileMode::Read); }),
              dir.path() + ": is a directory, not an HDF5 file");

    const std::string text = dir.file("text.h5");
    std::ofstream(text) << "this is not HDF5\n";
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5File::open(text, FileMode::Read); }),
              text + ": not an HDF5 file (no HDF5 signature found)");

    // A file cut short (an interrupted copy): open or read must fail cleanly, never crash.
    const std::string cut = dir.file("cut.h5");
    write_dataset(cut, "/main", test::random_any(DType::Float32, Shape4{1, {8, 64, 64}}, 3, 1), {0, std::nullopt});
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    const std::string truncated = error_of<core::InputError>([&] {
        const Hdf5File f = Hdf5File::open(cut, FileMode::Read);
        Hdf5Dataset::open(f, "/main").read_all();
    });
    EXPECT_EQ(truncated.rfind(cut + ":", 0), 0u) << truncated;

    const std::string odd = dir.file("odd.h5");
    write_raw_datasets(odd);
    const Hdf5File f = Hdf5File::open(odd, FileMode::Read);
    EXPECT_EQ(f.list_datasets(), (std::vector<std::string>{"/five_d", "/one_d", "/strings", "/volumes/raw"}));
    EXPECT_TRUE(f.has_dataset("volumes/raw"));
    EXPECT_FALSE(f.has_dataset("/volumes"));
    EXPECT_FALSE(f.has_dataset("/no/such/thing"));
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5Dataset::open(f, "/main"); }),
              odd + ":/main: no such dataset; the file has datasets /five_d, /one_d, /strings, /volumes/raw");
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5Dataset::open(f, "/volumes"); }),
              odd + ":/volumes: is a group, not a dataset; it holds the datasets /volumes/raw");
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5Dataset::open(f, "/one_d"); }),
              odd + ":/one_d: has 1 dimensions (10); a volume must have 2 (y,x), 3 (z,y,x) or 4 (c,z,y,x)");
    EXPECT_NE(
        error_of<core::InputError>([&] { Hdf5Dataset::open(f, "/five_d"); }).find("has 5 dimensions (1, 2, 2, 2, 2)"),
        std::string::npos);
    EXPECT_EQ(error_of<core::InputError>([&] { Hdf5Dataset::open(f, "/strings"); }),
              odd +
                  ":/strings: unsupported element type (string); volumes must hold integers of 8-64 bits or 32/64-bit "
                  "floats");
    EXPECT_NO_THROW(Hdf5Dataset::open(f, "/volumes/raw"));
}

// ---- parallel I/O: run at 1 and 2 ranks ------------------------------------------------------------

namespace {
/// The value every rank expects at global voxel (c, z, y, x): a formula, so each rank can check what
/// another rank wrote.
float expected_value(std::int64_t c, std::int64_t z, std::int64_t y, std::int64_t x)
{
    return static_cast<float>(c * 1000000 + z * 10000 + y * 100 + x);
}
}  // namespace

TEST(Hdf5Parallel, EachRankWritesItsSlabAndReadsAnothersBack)
{
    const dist::Comm world = dist::Comm::world();
    const int n = world.size();
    const int r = world.rank();
    test::TempDir dir(world);
    const Shape4 shape{2, {4 * n, 6, 5}};
    auto slab = [&](int rank) { return Box3{{4 * rank, 0, 0}, {4, 6, 5}}; };

    for (int gzip : {0, 3}) {
        const std::string path = dir.file("shared" + std::to_string(gzip) + ".h5");
        {
            Hdf5File file = Hdf5File::create(path, world);
            EXPECT_TRUE(file.is_parallel());
            {
                Hdf5Dataset ds = Hdf5Dataset::create(file, "/main", DType::Float32, shape, 4, {gzip, Vec3i{2, 3, 5}});
                Tensor<float> mine(2, slab(r).size);
                for (int c = 0; c < 2; ++c)
                    for (int z = 0; z < 4; ++z)
                        for (int y = 0; y < 6; ++y)
                            for (int x = 0; x < 5; ++x)
                                mine(c, z, y, x) = expected_value(c, 4 * r + z, y, x);
                ds.write<float>(slab(r), mine.view(), Transfer::Collective);
                ds.set_attribute("writer", "ranks");
                EXPECT_THROW(file.close(), core::InternalError);  // the dataset is still open
            }
            file.close();
        }
        // Every rank reads the slab of the next rank (itself at 1 rank) in one collective read.
        const Hdf5File file = Hdf5File::open(path, FileMode::Read, world);
        const Hdf5Dataset ds = Hdf5Dataset::open(file, "/main");
        const int other = (r + 1) % n;
        const AnyTensor got = ds.read_box(slab(other), Transfer::Collective);
        for (int c = 0; c < 2; ++c)
            for (int z = 0; z < 4; ++z)
                for (int y = 0; y < 6; ++y)
                    for (int x = 0; x < 5; ++x)
                        ASSERT_EQ(got.as<float>()(c, z, y, x), expected_value(c, 4 * other + z, y, x))
                            << "gzip " << gzip;
        EXPECT_EQ(ds.string_attribute("writer"), "ranks");
        // A rank may take part in a collective read with nothing to read.
        Tensor<float> none(2, {0, 0, 0});
        ds.read<float>(Box3{{0, 0, 0}, {0, 0, 0}}, none.view(), Transfer::Collective);
    }
}

TEST(Hdf5Parallel, MissingFileFailsOnEveryRankAlike)
{
    const dist::Comm world = dist::Comm::world();
    test::TempDir dir(world);
    try {
        Hdf5File::open(dir.file("nope.h5"), FileMode::Read, world);
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_EQ(e.error_scope(), core::ErrorScope::AllRanks);
        EXPECT_EQ(std::string(e.what()), dir.file("nope.h5") + ": no such file");
    }
}
