// Shapes, sparsity, field of view, parameters and FLOPs against hand-computed cases.

#include <gtest/gtest.h>

#include "support/parse_net.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/graph/shapes.hpp"

using namespace znn;
using namespace znn::graph;
using config::NetSpec;
using core::Vec3i;

namespace {

NetSpec parse(const std::string& text) { return test::parse_net(text); }

std::vector<std::string> shape_errors(const NetSpec& net, std::optional<Vec3i> outsz, std::map<std::string, Vec3i> in = {})
{
    config::Diagnostics d;
    if (outsz) NetShapes::from_output(net, *outsz, d);
    else NetShapes::from_input(net, in, d);
    std::vector<std::string> out;
    for (const auto& e : d.errors()) out.push_back(e.where + ": " + e.message);
    return out;
}

std::string node(const std::string& name, const std::string& type, int size, const std::string& extra = "")
{
    return "nodes " + name + "\ntype " + type + "\nsize " + std::to_string(size) + "\n" +
           (type == "transfer" ? "function rectify_linear\n" : "") + extra;
}

std::string edge(const std::string& name, const std::string& type, const std::string& from, const std::string& to, const std::string& extra)
{
    return "edges " + name + "\ntype " + type + "\ninput " + from + "\noutput " + to + "\n" + extra;
}

std::string conv(const std::string& name, const std::string& from, const std::string& to, const std::string& k)
{
    return edge(name, "conv", from, to, "init xavier\nsize " + k + "\n");
}

}  // namespace

TEST(Shapes, N4HasAFieldOfView95AndA194InputFor100Outputs)
{
    const NetSpec net = NetSpec::load(std::string(ZNN_SOURCE_DIR) + "/configs/nets/N4.znn");
    const NetShapes s = NetShapes::for_output(net, {1, 100, 100});
    EXPECT_EQ(s.fov().at("input"), (Vec3i{1, 95, 95}));
    EXPECT_EQ(s.input_sizes().at("input"), (Vec3i{1, 194, 194}));
    EXPECT_EQ(s.output_sizes().at("output"), (Vec3i{1, 100, 100}));
    // Max-filters with stride 1,2,2 double the sparsity after each of them.
    EXPECT_EQ(s.node("npool1").sparsity, (Vec3i{1, 2, 2}));
    EXPECT_EQ(s.node("output").sparsity, (Vec3i{1, 16, 16}));
    // Sizes by hand: conv1 194 -> 191; pool1 (2, sparsity 1) -> 190; conv2 (5, s 2) -> 182; pool2 -> 180;
    // conv3 (4, s 4) -> 168; pool3 -> 164; conv4 (4, s 8) -> 140; pool4 -> 132; conv5 (3, s 16) -> 100.
    const std::pair<const char*, std::int64_t> sizes[] = {{"nconv1", 191}, {"npool1", 190}, {"nconv2", 182}, {"npool2", 180},
                                                          {"nconv3", 168}, {"npool3", 164}, {"nconv4", 140}, {"npool4", 132}, {"nconv5", 100}};
    for (const auto& [name, n] : sizes) EXPECT_EQ(s.node(name).size, (Vec3i{1, n, n})) << name;
    // Parameters: kernels 768 + 57600 + 36864 + 36864 + 86400 + 400, biases 4·48 + 200 + 2.
    EXPECT_EQ(s.parameters(), 219290);
    // Forward FLOPs: 2·F_in·F_out·|k|·|out| per conv; backward: twice that, except conv1 (no input gradient).
    const double conv1 = 2.0 * 768 * 191 * 191, rest = 2.0 * (57600.0 * 182 * 182 + 36864.0 * 168 * 168 + 36864.0 * 140 * 140 +
                                                               86400.0 * 100 * 100 + 400.0 * 100 * 100);
    EXPECT_DOUBLE_EQ(s.forward_flops(), conv1 + rest);
    EXPECT_DOUBLE_EQ(s.backward_flops(), conv1 + 2 * rest);
    EXPECT_EQ(NetShapes::for_output(NetSpec::load(std::string(ZNN_SOURCE_DIR) + "/configs/nets/N4_even.znn"), {1, 1, 1}).fov().at("input"),
              (Vec3i{1, 94, 94}));
}

TEST(Shapes, PoolingCropAndDenseNodes)
{
    // input -> conv 3³ -> a -> max_pool 2³ -> b -> crop 1 -> c -> max_filter 2³ (stride 2) -> d (dense 1) -> conv 3³ -> out
    const NetSpec net = parse(node("input", "input", 1) + conv("c1", "input", "a", "3,3,3") + node("a", "transfer", 2) +
                              edge("p", "max_pool", "a", "b", "size 2,2,2\n") + node("b", "sum", 2) +
                              edge("k", "crop", "b", "c", "offset 1,1,1\n") + node("c", "sum", 2) +
                              edge("f", "max_filter", "c", "d", "size 2,2,2\nstride 2,2,2\n") + node("d", "sum", 2, "dense 1\n") +
                              conv("c2", "d", "out", "3,3,3") + node("out", "transfer", 1));
    const NetShapes s = NetShapes::for_output(net, {4, 4, 4});
    // Backward: out 4 -> d 6 (dense: sparsity 1) -> c 7 -> b 9 -> a 18 -> input 20.
    EXPECT_EQ(s.node("d").size, (Vec3i{6, 6, 6}));
    EXPECT_EQ(s.node("d").sparsity, (Vec3i{1, 1, 1}));
    EXPECT_EQ(s.node("c").size, (Vec3i{7, 7, 7}));
    EXPECT_EQ(s.node("b").size, (Vec3i{9, 9, 9}));
    EXPECT_EQ(s.node("a").size, (Vec3i{18, 18, 18}));
    EXPECT_EQ(s.input_sizes().at("input"), (Vec3i{20, 20, 20}));
    // Field of view: out 1 -> d 3 -> c 4 -> b 6 -> a 12 -> input 14.
    EXPECT_EQ(s.fov().at("input"), (Vec3i{14, 14, 14}));
    // Forward from a volume: a max-pool that does not divide, a kernel larger than its input.
    EXPECT_EQ(shape_errors(net, std::nullopt, {{"input", {21, 20, 20}}}),
              std::vector<std::string>{"t.znn:18: max_pool window 2,2,2 does not divide its input 19,18,18"});
    EXPECT_EQ(shape_errors(net, std::nullopt, {{"input", {2, 20, 20}}}),
              std::vector<std::string>{"t.znn:9: kernel 3,3,3 is larger than its input 2,20,20"});
    config::Diagnostics d;
    const NetShapes whole = *NetShapes::from_input(net, {{"input", {20, 24, 20}}}, d);
    EXPECT_EQ(whole.output_sizes().at("out"), (Vec3i{4, 6, 4}));
}

TEST(Shapes, SparseKernelsSpanTheirDilatedExtent)
{
    // A max-filter of stride 1,3,3 makes the next 1,2,2 kernel span 1,4,4.
    const NetSpec net = parse(node("input", "input", 1) + edge("f", "max_filter", "input", "a", "size 1,3,3\nstride 1,3,3\n") +
                              node("a", "sum", 1) + conv("c", "a", "out", "1,2,2") + node("out", "transfer", 1));
    const NetShapes s = NetShapes::for_output(net, {1, 5, 5});
    EXPECT_EQ(s.node("a").size, (Vec3i{1, 8, 8}));
    EXPECT_EQ(s.input_sizes().at("input"), (Vec3i{1, 10, 10}));
    EXPECT_EQ(s.edges()[1].dilation, (Vec3i{1, 3, 3}));
    EXPECT_EQ(shape_errors(net, std::nullopt, {{"input", {1, 5, 5}}}),
              std::vector<std::string>{"t.znn:18: kernel 1,2,2 (spanning 1,4,4 at sparsity 1,3,3) is larger than its input 1,3,3"});
}

TEST(Shapes, ConvergingBranchesMustAgree)
{
    // A skip connection: input -> conv 3³ -> a -> sum, and input -> dummy -> sum. The branches
    // leaving the input need 6 and 4 voxels for a 4-voxel sum: an error naming both edges.
    const std::string base = node("input", "input", 1) + conv("long", "input", "a", "3,3,3") + node("a", "transfer", 1) +
                             edge("to_sum", "dummy", "a", "sum", "") + node("sum", "sum", 1);
    const NetSpec bad = parse(base + edge("skip", "dummy", "input", "sum", ""));
    EXPECT_EQ(shape_errors(bad, Vec3i{4, 4, 4}),
              std::vector<std::string>{"t.znn:1: the branches leaving 'input' need different sizes: 6,6,6 for 'long', 4,4,4 for 'skip'"});
    EXPECT_EQ(shape_errors(bad, std::nullopt, {{"input", {6, 6, 6}}}),
              std::vector<std::string>{"t.znn:18: converging branches give 'sum' different sizes: 4,4,4 through 'to_sum', 6,6,6 through 'skip'"});
    // Cropping the skip by 1 makes it right.
    const NetSpec good = parse(base + edge("skip", "crop", "input", "sum", "offset 1,1,1\n"));
    EXPECT_EQ(NetShapes::for_output(good, {4, 4, 4}).input_sizes().at("input"), (Vec3i{6, 6, 6}));
    // Branches that reach a node with different sparsity.
    const NetSpec sparse = parse(node("input", "input", 1) + edge("f", "max_filter", "input", "a", "size 1,2,2\nstride 1,2,2\n") +
                                 node("a", "sum", 1) + edge("g", "crop", "input", "a", "offset 0,0,0\n"));
    const auto e = shape_errors(sparse, Vec3i{1, 2, 2});
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("converging branches reach 'a' with different sparsity: 1,2,2 through 'f', 1,1,1 through 'g'"), std::string::npos) << e[0];
}

TEST(Shapes, TwoInputsWithTheirOwnFieldsOfView)
{
    // input (3³ conv) and input-r (1³ conv) feed one sum: the inputs differ in size by the kernels.
    const NetSpec net = parse(node("input", "input", 1) + node("input-r", "input", 1) + conv("a", "input", "s", "3,3,3") +
                              conv("b", "input-r", "s", "1,1,1") + node("s", "transfer", 2));
    const NetShapes s = NetShapes::for_output(net, {5, 5, 5});
    EXPECT_EQ(s.input_sizes().at("input"), (Vec3i{7, 7, 7}));
    EXPECT_EQ(s.input_sizes().at("input-r"), (Vec3i{5, 5, 5}));
    EXPECT_EQ(s.fov().at("input"), (Vec3i{3, 3, 3}));
    EXPECT_EQ(s.fov().at("input-r"), (Vec3i{1, 1, 1}));
    EXPECT_NE(to_dot(net, s).find("\"input-r\" -> \"s\""), std::string::npos);
}
