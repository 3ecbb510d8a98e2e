#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"
#include "support/tensor_fill.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/volume_io.hpp"

using namespace znn;
using namespace znn::io;
using core::Box3;
using core::DType;
using tensor::AnyTensor;
using tensor::Shape4;

TEST(VolumeUri, ParsesDatasetsAndFormats)
{
    VolumeUri u = VolumeUri::parse("data/sample_A.h5:/volumes/labels/neuron_ids");
    EXPECT_EQ(u.path, "data/sample_A.h5");
    EXPECT_EQ(u.dataset, "/volumes/labels/neuron_ids");
    EXPECT_EQ(u.format, FileFormat::Hdf5);
    EXPECT_EQ(u.str(), "data/sample_A.h5:/volumes/labels/neuron_ids");
    u = VolumeUri::parse("out.hdf5");
    EXPECT_EQ(u.dataset, "/main");
    u = VolumeUri::parse("/odd:/dir/x.H5:/raw/");  // the separator follows the HDF5 file name
    EXPECT_EQ(u.path, "/odd:/dir/x.H5");
    EXPECT_EQ(u.dataset, "/raw");
    u = VolumeUri::parse("stack.TIFF");
    EXPECT_EQ(u.format, FileFormat::Tiff);
    EXPECT_TRUE(u.dataset.empty());
    EXPECT_THROW(VolumeUri::parse("image.png"), core::InputError);
    EXPECT_THROW(VolumeUri::parse(""), core::InputError);
    EXPECT_THROW(VolumeUri::parse("a.h5:/"), core::InputError);
    try {
        VolumeUri::parse("stack.tif:/main");
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_STREQ(e.what(), "stack.tif:/main: a TIFF stack has no datasets; drop the ':/main'");
    }
}

TEST(VolumeIo, ReadsAndWritesEitherFormatByAddress)
{
    test::TempDir dir;
    const AnyTensor in = test::random_any(DType::UInt16, Shape4{1, {4, 9, 8}}, 3, 11);
    for (const std::string name : {"v.h5:/group/raw", "v.tif"}) {
        const VolumeUri uri = VolumeUri::parse(dir.file(name));
        write_volume(uri, in);
        const VolumeInfo info = volume_info(uri);
        EXPECT_EQ(info.dtype, DType::UInt16);
        EXPECT_EQ(info.shape, in.shape());
        EXPECT_EQ(info.ndim, 3);
        EXPECT_TRUE(test::same_tensor(read_volume(uri), in)) << name;
        const AnyTensor part = read_volume(uri, Box3{{1, 2, 3}, {2, 3, 4}});
        EXPECT_EQ(part.as<std::uint16_t>()(0, 1, 2, 3), in.as<std::uint16_t>()(0, 2, 4, 6)) << name;
    }
}

TEST(VolumeIo, NothingHalfWrittenAndNoSilentOverwrite)
{
    test::TempDir dir;
    const VolumeUri uri = VolumeUri::parse(dir.file("out.h5"));
    const AnyTensor first = test::random_any(DType::Float32, Shape4{1, {2, 3, 4}}, 3, 1);
    write_volume(uri, first);
    const AnyTensor second = test::random_any(DType::Float32, Shape4{1, {2, 3, 4}}, 3, 2);
    EXPECT_THROW(write_volume(uri, second), core::InputError);  // exists, no overwrite

    // A write that fails half-way (here: an invalid compression level, found after the temporary
    // file was created) leaves the old file intact and no temporary behind.
    VolumeWriteOptions bad;
    bad.overwrite = true;
    bad.hdf5.gzip_level = 12;
    EXPECT_THROW(write_volume(uri, second, bad), core::UsageError);
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out.h5"}));
    EXPECT_TRUE(test::same_tensor(read_volume(uri), first));

    VolumeWriteOptions ok;
    ok.overwrite = true;
    write_volume(uri, second, ok);
    EXPECT_TRUE(test::same_tensor(read_volume(uri), second));
    EXPECT_THROW(write_volume(VolumeUri::parse(dir.file("missing_dir/x.h5")), first), core::InputError);
}

TEST(AtomicFile, CommitRenamesAndAbandonRemoves)
{
    test::TempDir dir;
    {
        AtomicFile f(dir.file("a.txt"));
        EXPECT_EQ(f.temp_path().find(dir.path() + "/.a.txt.tmp-"), 0u);
        std::ofstream(f.temp_path()) << "complete";
        EXPECT_EQ(test::list_dir(dir.path()).size(), 1u);
        f.commit();
    }
    {
        AtomicFile f(dir.file("b.txt"));
        std::ofstream(f.temp_path()) << "abandoned";
    }  // destroyed without commit: as if the writer had failed
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"a.txt"}));
    try {
        AtomicFile f(dir.file("nowhere/c.txt"));
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
    }
    EXPECT_THROW(AtomicFile f(dir.path()), core::InputError);  // a directory
}

TEST(AtomicFile, CommitIfAbsentNeverReplacesAnotherWritersFile)
{
    test::TempDir dir;
    const std::string target = dir.file("store.h5");
    AtomicFile first(target), second(target);  // two writers of one name, as concurrent shards are
    std::ofstream(first.temp_path()) << "first";
    std::ofstream(second.temp_path()) << "second";
    EXPECT_TRUE(first.commit_if_absent());
    EXPECT_FALSE(second.commit_if_absent());
    std::ifstream in(target);
    std::string content;
    in >> content;
    EXPECT_EQ(content, "first");
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"store.h5"}));  // both temporaries gone
}

TEST(VolumeIoParallel, CollectiveReadGivesEachRankItsBox)
{
    const dist::Comm world = dist::Comm::world();
    test::TempDir dir(world);
    const AnyTensor in = test::random_any(DType::Int32, Shape4{2, {2 * world.size(), 5, 6}}, 4, 21);
    const VolumeUri uri = VolumeUri::parse(dir.file("shared.h5:/main"));
    if (world.is_root()) write_volume(uri, in);
    world.barrier();
    const Box3 mine{{2 * world.rank(), 1, 0}, {2, 3, 6}};
    const AnyTensor got = read_volume_collective(uri, mine, world);
    for (int c = 0; c < 2; ++c)
        for (int z = 0; z < 2; ++z)
            for (int y = 0; y < 3; ++y)
                for (int x = 0; x < 6; ++x)
                    ASSERT_EQ(got.as<std::int32_t>()(c, z, y, x),
                              in.as<std::int32_t>()(c, mine.origin.z + z, y + 1, x));
}
