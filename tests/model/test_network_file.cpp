// Network files: round trips that give an identical forward pass, seeding by group name, errors.

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/model/network_file.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using namespace znn::model;
using graph::Network;

namespace {

config::NetSpec n4()
{
    return config::NetSpec::load(std::string(ZNN_SOURCE_DIR) + "/configs/nets/N4.znn");
}

struct Rig {
    sched::ThreadPool pool{2};
    graph::NetworkOptions options;
    Rig() { options.conv_mode = config::ConvMode::Direct; }
};

std::vector<float> forward(Network<float>& net)
{
    core::Rng rng(4);
    net.input("input").for_each([&](float& v) { v = rng.uniform_float(); });
    net.set_phase(graph::Phase::Test);
    net.forward();
    const auto out = net.output("output");
    return {out.data(), out.data() + out.count()};
}

}  // namespace

TEST(NetworkFile, ARoundTripGivesAnIdenticalForwardPass)
{
    test::TempDir dir;
    Rig rig;
    const config::NetSpec spec = n4();
    const auto shapes = graph::NetShapes::for_output(spec, {1, 6, 6});
    for (const bool stdio : {false, true}) {
        Network<float> a(spec, shapes, rig.options, {rig.pool});
        a.initialize(5);
        // Optimizer state: the original's momentum, and a tensor only znn keeps.
        OptimizerState state;
        for (const auto& p : a.parameters()) {
            tensor::Tensor<float> m(p.values.shape()), v(p.values.shape());
            m.view().for_each([](float& x) { x = 0.25f; });
            for (std::int64_t i = 0; i < v.count(); ++i) v.data()[i] = float(i % 7) + 0.5f;
            state[p.group].emplace(kMomentum, std::move(m));
            state[p.group].emplace("adam_v", std::move(v));
        }
        NetworkFileMeta meta;
        meta.iteration = 1234;
        meta.eta = 0.0042;
        meta.config = "[parameters]\neta = 0.01\n";
        const std::string path = dir.file(stdio ? "s.h5" : "n.h5");
        save_network(path, a, meta, stdio ? Layout::Stdio : Layout::Root, &state);

        Network<float> b(spec, shapes, rig.options, {rig.pool});
        b.initialize(6);  // different values, all to be replaced
        OptimizerState loaded_state;
        const LoadReport r = load_network(path, b, LoadMode::Resume, &loaded_state);
        EXPECT_EQ(r.prefix, stdio ? std::string(kStdioPrefix) : std::string("/"));
        EXPECT_EQ(r.loaded.size(), a.parameters().size());
        EXPECT_EQ(r.meta.iteration, 1234);
        EXPECT_DOUBLE_EQ(*r.meta.eta, 0.0042);
        EXPECT_EQ(r.meta.config, meta.config);
        EXPECT_EQ(r.meta.conv_choices.at("conv2"), conv::ConvAlgo::Direct);
        for (std::size_t k = 0; k < a.parameters().size(); ++k) {
            const auto &pa = a.parameters()[k], &pb = b.parameters()[k];
            ASSERT_TRUE(std::equal(pa.values.data(), pa.values.data() + pa.values.count(), pb.values.data())) << pa.group;
            ASSERT_EQ(loaded_state.at(pa.group).size(), 2u) << pa.group;
            for (const char* name : {kMomentum, "adam_v"}) {
                const auto &x = state.at(pa.group).at(name), &y = loaded_state.at(pa.group).at(name);
                ASSERT_EQ(x.shape(), y.shape());
                ASSERT_TRUE(std::equal(x.data(), x.data() + x.count(), y.data())) << pa.group << " " << name;
            }
        }
        // The original's layout holds the momentum as momentum_vol; only what znn adds is elsewhere.
        const auto f = io::Hdf5File::open(path, io::FileMode::Read);
        const std::string prefix = stdio ? std::string(kStdioPrefix) : std::string("/");
        ASSERT_TRUE(f.read_array(prefix + "conv2/momentum_vol"));
        EXPECT_EQ(f.read_array(prefix + "conv2/momentum_vol")->values[0], 0.25);
        EXPECT_FALSE(f.has_dataset(prefix + "conv2/adam_v"));
        EXPECT_TRUE(f.has_dataset(std::string(kStatePrefix) + "optimizer/conv2/adam_v"));
        EXPECT_EQ(forward(a), forward(b));
    }
}

TEST(NetworkFile, KernelsAreStoredInTheOriginalsElementOrder)
{
    test::TempDir dir;
    Rig rig;
    const config::NetSpec spec = n4();
    Network<float> net(spec, graph::NetShapes::for_output(spec, {1, 1, 1}), rig.options, {rig.pool});
    net.initialize(1);
    // conv2: 48 -> 48 maps, kernel 1,5,5. Our kernel (o = 3, i = 7) at (z, y, x) = (0, 1, 4) ...
    auto& w = *net.parameter("conv2");
    w.values(3 * 48 + 7, 0, 1, 4) = 123.5f;
    save_network(dir.file("n.h5"), net, {}, Layout::Root);
    const auto f = io::Hdf5File::open(dir.file("n.h5"), io::FileMode::Read).read_array("/conv2/filters");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->dims, (std::vector<std::int64_t>{48, 48, 1, 5, 5}));
    // ... is block (i = 7, o = 3), flat index z + s0·(y + s1·x) = 0 + 1·(1 + 5·4) = 21.
    EXPECT_EQ(f->values[static_cast<std::size_t>((7 * 48 + 3) * 25 + 21)], 123.5);
}

TEST(NetworkFile, SeedingCopiesWhatMatchesAndResumingNeedsEverything)
{
    test::TempDir dir;
    Rig rig;
    // The file holds N4; the new network renames conv6 and opts conv1 out of seeding.
    const config::NetSpec spec = n4();
    Network<float> a(spec, graph::NetShapes::for_output(spec, {1, 1, 1}), rig.options, {rig.pool});
    a.initialize(1);
    save_network(dir.file("n4.h5"), a, {}, Layout::Root);
    std::string text;
    {
        std::ifstream in(spec.file);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto replace = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
    replace("edges conv6", "edges conv6b");
    replace("input input\noutput nconv1", "input input\noutput nconv1\nseeding 0");
    config::Diagnostics d;
    const config::NetSpec changed = config::NetSpec::parse(text, "changed.znn", d);
    ASSERT_FALSE(d.has_errors());
    Network<float> b(changed, graph::NetShapes::for_output(changed, {1, 1, 1}), rig.options, {rig.pool});
    b.initialize(2);
    const LoadReport r = load_network(dir.file("n4.h5"), b, LoadMode::Seed);
    EXPECT_EQ(r.meta.format_version, 1);
    EXPECT_EQ(r.skipped, std::vector<std::string>{"conv1"});
    EXPECT_EQ(r.missing, std::vector<std::string>{"conv6b"});
    EXPECT_EQ(r.unused, std::vector<std::string>{"conv6"});
    EXPECT_EQ(b.parameter("conv2")->values.data()[5], a.parameter("conv2")->values.data()[5]);
    EXPECT_NE(b.parameter("conv1")->values.data()[5], a.parameter("conv1")->values.data()[5]);
    try {
        load_network(dir.file("n4.h5"), b, LoadMode::Resume);
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("n4.h5:/conv6b: no group 'conv6b'"), std::string::npos) << e.what();
    }
}
