// BlockStore: what is recorded finished survives reopening, a block whose data was written but not
// recorded (a kill in between) counts as missing, finish() assembles exactly the kept part of every
// window (against an assembly by hand), uint8 quantisation, and a store of another layout is refused.
// Runs on 1 and 2 ranks (the ranks write disjoint blocks of one store, then finish together).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "support/temp_dir.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/comm.hpp"
#include "znn/infer/block_store.hpp"
#include "znn/io/hdf5.hpp"

using namespace znn;
using core::Vec3i;
using infer::Block;
using infer::BlockGrid;
using infer::BlockStore;
using infer::OutputType;

namespace {

/// The value a block's window holds at window voxel p, channel c: depends on the window's position,
/// so a voxel computed by two different windows differs and a wrong crop shows.
float window_value(const Block& b, std::int64_t c, const Vec3i& p)
{
    const Vec3i g = b.window.origin + p;
    return static_cast<float>(c * 1000000 + g.z * 10000 + g.y * 100 + g.x) +
           0.25f * static_cast<float>(b.window.origin.y % 3);
}

tensor::Tensor<float> window_of(const Block& b, std::int64_t channels)
{
    tensor::Tensor<float> t(channels, b.window.size);
    for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t z = 0; z < b.window.size.z; ++z)
            for (std::int64_t y = 0; y < b.window.size.y; ++y)
                for (std::int64_t x = 0; x < b.window.size.x; ++x)
                    t(c, z, y, x) = window_value(b, c, {z, y, x});
    return t;
}

const dist::Comm world()
{
    return dist::Comm::world();
}

}  // namespace

TEST(BlockStore, RecordsFinishedBlocksAndAssemblesTheOutput)
{
    const dist::Comm comm = world();
    test::TempDir dir(comm);
    const BlockGrid grid({3, 10, 9}, {2, 4, 4}, {1, 3, 3});
    const std::int64_t C = 2;
    const std::string store_path = dir.file("out.h5.partial"), final_path = dir.file("out.h5");
    const infer::Attributes attrs{{"znn_forward_identity", "network abc\nforward_outsz 2,4,4\n"},
                                  {"znn_conv", "conv1 fft 1,4,4\n"}};
    {
        BlockStore s = BlockStore::create(store_path, grid, C, OutputType::Float32, attrs, comm);
        EXPECT_EQ(s.missing().size(), static_cast<std::size_t>(grid.count()));
        // Every rank writes the even blocks it is dealt.
        for (std::int64_t i = comm.rank(); i < grid.count(); i += comm.size())
            if (i % 2 == 0) s.write_block(grid.block(i), window_of(grid.block(i), C).cview());
    }
    comm.barrier();
    {
        BlockStore s = BlockStore::open(store_path, grid, C, OutputType::Float32,
                                        {"znn_forward_identity", "znn_conv", "absent"}, comm);
        EXPECT_EQ(s.attributes(), attrs);
        std::vector<std::int64_t> odd;
        for (std::int64_t i = 1; i < grid.count(); i += 2)
            odd.push_back(i);
        EXPECT_EQ(s.missing(), odd);
        // A kill between a block's data and its record: the data is there, the block is missing.
        if (comm.is_root()) {
            const int fd = ::open(store_path.c_str(), O_RDWR);
            ASSERT_GE(fd, 0);
            const io::Hdf5File f = io::Hdf5File::open(store_path, io::FileMode::Read);
            const auto at = io::Hdf5Dataset::open(f, "/main").chunk_address(grid.block(1).owned.origin);
            ASSERT_TRUE(at.has_value());
            const std::vector<float> garbage(16, -7.0f);
            ASSERT_EQ(::pwrite(fd, garbage.data(), garbage.size() * sizeof(float), *at),
                      static_cast<ssize_t>(garbage.size() * sizeof(float)));
            ::close(fd);
        }
        comm.barrier();
    }
    {
        BlockStore s = BlockStore::open(store_path, grid, C, OutputType::Float32, {}, comm);
        ASSERT_EQ(s.missing().size(), static_cast<std::size_t>(grid.count() / 2));
        const std::vector<std::int64_t> missing = s.missing();
        for (std::size_t k = 0; k < missing.size(); ++k)
            if (static_cast<int>(k) % comm.size() == comm.rank())
                s.write_block(grid.block(missing[k]), window_of(grid.block(missing[k]), C).cview());
        io::Hdf5WriteOptions o;
        o.gzip_level = 1;
        s.finish(final_path, o, {{"znn_forward_identity", "network abc\n"}}, {{"resolution", {40, 4, 4}}});
    }
    comm.barrier();
    EXPECT_FALSE(std::filesystem::exists(store_path));
    // The assembly by hand: voxel v comes from the window of the block owning it.
    const io::Hdf5File f = io::Hdf5File::open(final_path, io::FileMode::Read);
    const io::Hdf5Dataset main = io::Hdf5Dataset::open(f, "/main");
    EXPECT_EQ(main.info().shape, (tensor::Shape4{C, {3, 10, 9}}));
    EXPECT_EQ(main.info().gzip_level, 1);
    const Vec3i chunk = infer::output_chunk(grid.block_size());
    EXPECT_EQ(main.info().chunks, (std::vector<std::int64_t>{1, chunk.z, chunk.y, chunk.x}));
    EXPECT_EQ(main.string_attribute("znn_forward_identity"), std::optional<std::string>("network abc\n"));
    tensor::Tensor<float> all(C, grid.output());
    main.read(core::Box3{{0, 0, 0}, grid.output()}, all.view());
    for (std::int64_t i = 0; i < grid.count(); ++i) {
        const Block b = grid.block(i);
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t z = 0; z < b.owned.size.z; ++z)
                for (std::int64_t y = 0; y < b.owned.size.y; ++y)
                    for (std::int64_t x = 0; x < b.owned.size.x; ++x) {
                        const Vec3i v = b.owned.origin + Vec3i{z, y, x};
                        ASSERT_EQ(all(c, v.z, v.y, v.x), window_value(b, c, v - b.window.origin)) << "block " << i;
                    }
    }
}

TEST(BlockStore, ASecondCreateOpensTheFirstStoreAndKeepsItsBlocksAndPlan)
{
    const dist::Comm comm = world();
    test::TempDir dir(comm);
    const BlockGrid grid({2, 8, 8}, {2, 4, 4}, {1, 3, 3});
    const std::string path = dir.file("out.h5.partial");
    const infer::Attributes first{{"znn_conv", "plan of the first shard"}}, second{{"znn_conv", "plan of the second"}};
    BlockStore a = BlockStore::create(path, grid, 1, OutputType::Float32, first, comm);
    EXPECT_TRUE(a.created());
    if (comm.is_root()) a.write_block(grid.block(1), window_of(grid.block(1), 1).cview());
    comm.barrier();
    BlockStore b = BlockStore::create(path, grid, 1, OutputType::Float32, second, comm);  // a shard that came second
    EXPECT_FALSE(b.created());
    EXPECT_EQ(b.attributes(), first);
    EXPECT_EQ(b.finished_count(), 1);
    EXPECT_EQ(b.missing(), (std::vector<std::int64_t>{0, 2, 3}));
    comm.barrier();
    if (comm.is_root()) {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
        EXPECT_EQ(names, std::vector<std::string>{"out.h5.partial"});  // no temporary left
    }
}

TEST(BlockStore, QuantisesToUint8)
{
    const dist::Comm comm = world();
    test::TempDir dir(comm);
    const BlockGrid grid({1, 1, 6}, {1, 1, 6}, {1, 1, 1});
    {
        BlockStore s = BlockStore::create(dir.file("q.partial"), grid, 1, OutputType::UInt8, {}, comm);
        tensor::Tensor<float> w(1, {1, 1, 6});
        const float v[6] = {-0.5f, 0.0f, 0.5f, 0.998f, 1.7f, std::nanf("")};
        for (int x = 0; x < 6; ++x)
            w(0, 0, 0, x) = v[x];
        if (comm.is_root()) s.write_block(grid.block(0), w.cview());
        s.finish(dir.file("q.h5"), {}, {}, {});
    }
    const io::Hdf5File f = io::Hdf5File::open(dir.file("q.h5"), io::FileMode::Read);
    const io::Hdf5Dataset main = io::Hdf5Dataset::open(f, "/main");
    EXPECT_EQ(main.info().dtype, core::DType::UInt8);
    tensor::Tensor<std::uint8_t> got(1, {1, 1, 6});
    main.read(core::Box3{{0, 0, 0}, {1, 1, 6}}, got.view());
    const std::uint8_t want[6] = {0, 0, 128, 254, 255, 0};
    for (int x = 0; x < 6; ++x)
        EXPECT_EQ(got(0, 0, 0, x), want[x]) << x;
}

TEST(BlockStore, RefusesAStoreOfAnotherLayout)
{
    const dist::Comm comm = world();
    test::TempDir dir(comm);
    const BlockGrid grid({2, 8, 8}, {1, 4, 4}, {1, 1, 1});
    BlockStore::create(dir.file("s.partial"), grid, 2, OutputType::Float32, {}, comm);
    EXPECT_THROW(BlockStore::open(dir.file("s.partial"), BlockGrid({2, 8, 8}, {1, 8, 4}, {1, 1, 1}), 2,
                                  OutputType::Float32, {}, comm),
                 core::InputError);
    EXPECT_THROW(BlockStore::open(dir.file("s.partial"), grid, 3, OutputType::Float32, {}, comm), core::InputError);
    EXPECT_THROW(BlockStore::open(dir.file("s.partial"), grid, 2, OutputType::UInt8, {}, comm), core::InputError);
    EXPECT_THROW(BlockStore::open(dir.file("absent.partial"), grid, 2, OutputType::Float32, {}, comm),
                 core::InputError);
}
