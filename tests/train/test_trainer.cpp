// The trainer in process: data parallelism against a bigger batch on one rank, seeding by group name.
// (tests/train/test_train_cli.sh covers the command: resume, signals, kill -9, bad input.)

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "support/temp_dir.hpp"
#include "znn/config/job_files.hpp"
#include "znn/core/error.hpp"
#include "znn/data/synth.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/model/network_file.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/trainer.hpp"

using namespace znn;

namespace {

const std::string kNets = std::string(ZNN_SOURCE_DIR) + "/tests/train/";

/// A job on synthetic data in `dir` (written by rank 0), with `extra` lines.
std::string write_job(const test::TempDir& dir, const dist::Comm& comm, const std::string& name, const std::string& extra)
{
    const std::string cfg = dir.file(name + ".cfg");
    if (comm.is_root()) {
        if (!std::ifstream(dir.file("data/synth.spec"))) {
            data::SynthParams p;
            p.shape = {6, 48, 48};
            data::write_synthetic_dataset(dir.file("data"), p, 4, false);
        }
        std::ofstream(cfg) << "[parameters]\nfnet_spec = " << kNets << "tiny_boundary.znn\nfdata_spec = data/synth.spec\n"
                           << "train_net_prefix = " << name << "/net\ntrain_range = 1\ntest_range = 2\ntrain_outsz = 1,12,12\n"
                           << "train_conv_mode = fft\neta = 0.05\nmomentum = 0.9\nis_bd_mirror = yes\nis_data_aug = yes\n"
                           << "Num_iter_per_show = 5\nNum_iter_per_test = 10\ntest_num = 4\nNum_iter_per_save = 10\nMax_iter = 20\n"
                           << extra;
    }
    comm.barrier();
    return cfg;
}

train::TrainResult train_job(const std::string& cfg, const dist::Comm& comm, const train::TrainOptions& options = {})
{
    sched::ThreadPool pool(2);
    core::Logger log = core::Logger::silent();
    const config::JobFiles job = config::JobFiles::load(cfg);
    train::Trainer trainer(job, options, {comm, pool, {}, log, nullptr});
    return trainer.run();
}

std::vector<double> values(const std::string& file, const std::string& dataset)
{
    return io::Hdf5File::open(file, io::FileMode::Read).read_array(dataset)->values;
}

double largest_relative_difference(const std::vector<double>& a, const std::vector<double>& b)
{
    EXPECT_EQ(a.size(), b.size());
    double scale = 1e-30, diff = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        scale = std::max(scale, std::abs(b[i]));
        diff = std::max(diff, std::abs(a[i] - b[i]));
    }
    return diff / scale;
}

}  // namespace

TEST(Trainer, TwoRanksOfOnePatchEqualOneRankOfTwo)
{
    const dist::Comm world = dist::Comm::world();
    if (world.size() != 2) GTEST_SKIP() << "compares 2 ranks with 1: run at 2 ranks";
    test::TempDir dir(world);
    // Every rank holds whole samples: patch slot k of a global batch is the same patch at any rank count.
    const std::string common = "split_samples = no\n";
    const std::string two = write_job(dir, world, "two", common + "batch_size = 1\n");
    const train::TrainResult a = train_job(two, world);
    EXPECT_EQ(a.iteration, 20);
    world.barrier();
    if (world.is_root()) {
        const std::string one = dir.file("one.cfg");
        std::ofstream(one) << std::ifstream(two).rdbuf() << "batch_size = 2\nconv_plan = two/net_init.h5\n";
        std::string text;
        {
            std::ifstream in(one);
            text.assign(std::istreambuf_iterator<char>(in), {});
        }
        text.replace(text.find("train_net_prefix = two/net"), 26, "train_net_prefix = one/net");
        std::ofstream(one) << text;
        const train::TrainResult b = train_job(one, dist::Comm::serial());
        EXPECT_EQ(b.iteration, 20);
        // The same patches, the same updates: only the order of float sums differs.
        const std::string fa = dir.file("two/net_20.h5"), fb = dir.file("one/net_20.h5");
        for (const std::string ds : {"/conv1/filters", "/conv2/filters", "/conv3/filters", "/conv2/momentum_vol", "/output/biases"})
            EXPECT_LT(largest_relative_difference(values(fa, ds), values(fb, ds)), 1e-5) << ds;
        for (const std::string ds : {"/processing/znn/train/statistics/train/err", "/processing/znn/train/statistics/test/err",
                                     "/processing/znn/train/statistics/test/cls"})
            EXPECT_LT(largest_relative_difference(values(fa, ds), values(fb, ds)), 1e-5) << ds;
        // The trainer state records the run's shape.
        const std::string state = *io::Hdf5File::open(fa, io::FileMode::Read).string_attribute("znn_trainer");
        EXPECT_NE(state.find("ranks 2\n"), std::string::npos) << state;
        EXPECT_NE(state.find("batch_size 1\n"), std::string::npos) << state;
    }
    world.barrier();
}

TEST(Trainer, SeedingCopiesGroupsByNameAndInitialisesTheRest)
{
    const dist::Comm world = dist::Comm::world();
    test::TempDir dir(world);
    const std::string base = write_job(dir, world, "base", "Max_iter = 10\nNum_iter_per_save = 5\n");
    train_job(base, world);
    // A network with conv2 renamed: conv1 and conv3 (and the biases) come from the seed, conv2b is new.
    std::string text;
    {
        std::ifstream in(kNets + "tiny_boundary.znn");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    text.replace(text.find("edges conv2"), 11, "edges conv2b");
    if (world.is_root()) std::ofstream(dir.file("renamed.znn")) << text;
    const std::string seeded = write_job(dir, world, "seeded", "fnet_spec = " + dir.file("renamed.znn") + "\nMax_iter = 10\nNum_iter_per_save = 5\n");
    train::TrainOptions options;
    options.seed_file = dir.file("base/net_current.h5");
    options.iterations = 1;
    const train::TrainResult r = train_job(seeded, world, options);
    EXPECT_EQ(r.outcome, train::TrainOutcome::Stopped);
    if (world.is_root()) {
        // The initial file holds the seed's conv1 and a fresh conv2b.
        const std::string init = dir.file("seeded/net_init.h5"), seed = dir.file("base/net_current.h5");
        EXPECT_EQ(values(init, "/conv1/filters"), values(seed, "/conv1/filters"));
        EXPECT_EQ(values(init, "/output/biases"), values(seed, "/output/biases"));
        EXPECT_NE(values(init, "/conv2b/filters"), values(seed, "/conv2/filters"));
        // A new run's state starts at 0: no momentum was seeded.
        for (const double v : values(init, "/conv1/momentum_vol")) ASSERT_EQ(v, 0.0);
    }
    // A seed that shares no group with the network is refused before anything is written.
    options.seed_file = dir.file("other.h5");
    if (world.is_root()) {
        sched::ThreadPool pool(1);
        const config::NetSpec other = config::NetSpec::load(kNets + "tiny_affinity.znn");
        graph::Network<float> net(other, graph::NetShapes::for_output(other, {1, 1, 1}), {}, {pool});
        net.initialize(1);
        model::save_network(dir.file("other.h5"), net, {}, model::Layout::Root);
    }
    world.barrier();
    const std::string fresh = write_job(dir, world, "fresh", "");
    try {
        train_job(fresh, world, options);
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("other.h5"), std::string::npos) << e.what();
        EXPECT_EQ(e.error_scope(), core::ErrorScope::AllRanks);
    }
    world.barrier();
    EXPECT_FALSE(std::ifstream(dir.file("fresh/net_init.h5")));
}
