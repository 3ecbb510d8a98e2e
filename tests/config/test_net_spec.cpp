// The .znn reader: the original's files as they are, and every problem of a bad one at once.

#include <gtest/gtest.h>

#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"

using namespace znn;
using namespace znn::config;

namespace {

std::vector<std::string> errors_of(const std::string& text)
{
    Diagnostics d;
    NetSpec::parse(text, "bad.znn", d);
    std::vector<std::string> out;
    for (const auto& e : d.errors()) out.push_back(e.where + ": " + e.message);
    return out;
}

}  // namespace

TEST(NetSpec, ReadsTheShippedN4AsTheOriginalDid)
{
    const NetSpec net = NetSpec::load(std::string(ZNN_SOURCE_DIR) + "/configs/nets/N4.znn");
    EXPECT_EQ(net.nodes.size(), 11u);
    EXPECT_EQ(net.edges.size(), 10u);
    EXPECT_EQ(net.input_nodes(), std::vector<std::string>{"input"});
    EXPECT_EQ(net.output_nodes(), std::vector<std::string>{"output"});
    const std::vector<std::string> order = net.topological_order();
    ASSERT_EQ(order.size(), 11u);
    EXPECT_EQ(order.front(), "input");
    EXPECT_EQ(order.back(), "output");
    const EdgeGroupSpec& conv1 = *net.edge("conv1");
    EXPECT_EQ(conv1.type, EdgeType::Conv);
    EXPECT_EQ(conv1.size, (core::Vec3i{1, 4, 4}));
    EXPECT_EQ(conv1.init->kind, InitKind::Xavier);
    EXPECT_EQ(net.edge("pool1")->stride, (core::Vec3i{1, 2, 2}));
    const NodeGroupSpec& out = *net.node("output");
    EXPECT_EQ(out.function, TransferFunction::Linear);
    EXPECT_EQ(out.function_args, (std::vector<double>{1.0, 0.0}));  // the code's default, not the docs'
    EXPECT_EQ(out.size, 2);
    EXPECT_EQ(out.options.at("function"), "linear");  // kept as written, for network files
}

TEST(NetSpec, GroupsInAnyOrderCommentsAndTheOriginalsLooseLines)
{
    Diagnostics d;
    const NetSpec net = NetSpec::parse("# a two-input net, edges first\n"
                                       "edges c2\ntype conv\ninit uniform\ninit_args 0.05\nsize 1,3,3\ninput input-r\noutput sum\n"
                                       "\n   \n"
                                       "edges c1\ntype conv\ninit gaussian\nsize 2,3,3\ninput input\noutput sum  # trailing comment\n"
                                       "nodes sum\ntype transfer\nfunction tanh\nfunction_args 1.7159,0.6666\nsize 4\nload 0\n"
                                       "edges drop\ntype dropout\nratio 0.8\ninput sum\noutput out\n"
                                       "nodes out\ntype sum\nsize 4\nfunction rectify_linear\n"
                                       "nodes input\ntype input\nsize 1\n"
                                       "nodes input-r\ntype input\nsize 1 extra words\n",
                                       "vd.znn", d);
    EXPECT_FALSE(d.has_errors()) << d.errors()[0].where << ": " << d.errors()[0].message;
    EXPECT_EQ(net.input_nodes(), (std::vector<std::string>{"input", "input-r"}));
    EXPECT_EQ(net.output_nodes(), std::vector<std::string>{"out"});
    EXPECT_EQ(net.edge("c2")->init->args, (std::vector<double>{-0.05, 0.05}));  // one value r: [-r, r]
    EXPECT_EQ(net.edge("c1")->init->args, (std::vector<double>{0.0, 0.01}));    // gaussian's default
    EXPECT_EQ(net.node("sum")->function_args, (std::vector<double>{1.7159, 0.6666}));
    EXPECT_FALSE(net.node("sum")->seeding);  // load 0
    EXPECT_DOUBLE_EQ(net.edge("drop")->ratio, 0.8);
    // Harmless oddities of shipped files are warnings: a function on a sum node, extra tokens.
    ASSERT_EQ(d.warnings().size(), 2u);
    EXPECT_EQ(d.warnings()[0].where, "vd.znn:37");  // read while lexing
    EXPECT_EQ(d.warnings()[1].where, "vd.znn:31");
}

TEST(NetSpec, EveryProblemIsReportedWithItsLine)
{
    const std::vector<std::string> got = errors_of(
        "size 3\n"                                               // 1: before any group
        "nodes input\ntype input\nsize 1\n"                      // 2-4
        "nodes a\ntype tranfer\nsise 8\n"                        // 5-7: unknown type, unknown key, no size
        "nodes b\ntype transfer\nfunction relu\nsize -2\n"       // 8-11
        "nodes c\ntype transfer\nfunction linear\nfunction_args 1,2,3\nsize 4\ninit xavier\n"  // 12-17
        "edges e1\ntype convv\ninput input\noutput a\n"          // 18-21
        "edges e2\ntype conv\nsize 1,2\ninput input\noutput nconv\n"  // 22-26: no init, bad size, dangling
        "edges e3\ntype max_filter\nsize 2,2,2\ninput a\noutput c\n"  // 27-31: no stride, 8 -> 4 maps
        "edges e4\ntype conv\ninit xavier\nsize 1,3,3\nrepeat 1,2,2\ninput c\noutput a\n"  // 32-38: repeat; cycle a->c->a
        "nodes e1\ntype sum\nsize 1\n"                           // 39-41: duplicate name
        "edges e5\ntype crop\ninput c\noutput input\n"           // 42-45: no offset, feeds an input
        "nodes lonely\ntype sum\nsize 2\n"                       // 46-48: fed by nothing
    );
    const std::vector<std::string> expected = {
        "bad.znn:1: 'size' comes before any 'nodes' or 'edges' line",
        "bad.znn:7: unknown key 'sise' in nodes group 'a' (did you mean 'size'?)",
        "bad.znn:39: the name 'e1' is already used by the group at bad.znn:18",
        "bad.znn:5: nodes group 'a' needs 'size' (the number of feature maps)",
        "bad.znn:6: type: unknown type 'tranfer' (did you mean 'transfer'?)",
        "bad.znn:10: function: unknown function 'relu' (one of: linear, rectify_linear, tanh, soft_sign, logistics, forward_logistics)",
        "bad.znn:11: size: expected a positive integer (at most 2147483648), got '-2'",
        "bad.znn:15: function_args: takes at most two numbers (a,b)",
        "bad.znn:17: init: xavier needs a fan-in and cannot initialise biases",
        "bad.znn:46: nothing feeds the node group 'lonely' (only type input may have no incoming edges)",
        "bad.znn:19: type: unknown type 'convv' (did you mean 'conv'?)",
        "bad.znn:22: edges group 'e2' needs 'init' (zero, constant, uniform, gaussian, bernoulli, xavier or msra)",
        "bad.znn:24: size: expected z,y,x (three integers from 1 to 2147483648), got '1,2'",
        "bad.znn:27: edges group 'e3' needs 'stride' (the pooling factor z,y,x, usually equal to size)",
        "bad.znn:36: repeat: must divide size 1,3,3, got 1,2,2",
        "bad.znn:42: edges group 'e5' needs 'offset' (voxels to remove on both sides, z,y,x)",
        "bad.znn:26: output: there is no nodes group 'nconv'",
        "bad.znn:45: edges cannot feed the input node group 'input'",
        "bad.znn:42: crop edges are one-to-one, but 'c' has 4 maps and 'input' 1",
        "bad.znn:8: nothing feeds the node group 'b' (only type input may have no incoming edges)",
        "bad.znn:2: the edges form a cycle through input, a, c",  // e5 feeds the input from the cycle
    };
    // Print both lists on failure: the order is the reader's (lines, then groups, then the graph).
    std::string all;
    for (const auto& e : got) all += "\n" + e;
    for (const std::string& e : expected) EXPECT_NE(std::find(got.begin(), got.end(), e), got.end()) << "missing: " << e << "\ngot:" << all;
    EXPECT_EQ(got.size(), expected.size()) << "every problem once, and no other:" << all;
}

TEST(NetSpec, GraphProblemsNameTheGroups)
{
    const std::vector<std::string> got = errors_of(
        "nodes input\ntype input\nsize 1\n"                                             // 1-3
        "nodes a\ntype transfer\nfunction linear\nsize 8\n"                             // 4-7
        "nodes b\ntype sum\nsize 4\n"                                                   // 8-10
        "nodes m\ntype maxout\nsize 8\n"                                                // 11-13
        "edges in\ntype conv\ninit zero\nsize 1,1,1\ninput input\noutput a\n"           // 14-19
        "edges ab\ntype max_filter\nsize 1,2,2\nstride 1,2,2\ninput a\noutput b\n"      // 20-25: 8 -> 4 maps
        "edges bm\ntype dummy\ninput b\noutput m\n"                                     // 26-29: dummy into maxout
        "edges ma\ntype maxout\ninput m\noutput a\n"                                    // 30-33: maxout into a transfer; cycle
        "edges back\ntype conv\ninit zero\nsize 1,1,1\ninput a\noutput input\n"          // 34-39: into an input
        "nodes unused\ntype input\nsize 1\n");                                          // 40-42
    const std::vector<std::string> expected = {
        "bad.znn:20: max_filter edges are one-to-one, but 'a' has 8 maps and 'b' 4",
        "bad.znn:26: dummy edges are one-to-one, but 'b' has 4 maps and 'm' 8",
        "bad.znn:26: a maxout node group takes only maxout edges; 'bm' is dummy",
        "bad.znn:30: maxout edges must feed a maxout node group, and 'a' is not one",
        "bad.znn:39: edges cannot feed the input node group 'input'",
        "bad.znn:40: the input node group 'unused' feeds nothing",
        "bad.znn:1: the edges form a cycle through input, a, b, m",
    };
    std::string all;
    for (const auto& e : got) all += "\n" + e;
    for (const std::string& e : expected) EXPECT_NE(std::find(got.begin(), got.end(), e), got.end()) << "missing: " << e << "\ngot:" << all;
    EXPECT_EQ(got.size(), expected.size()) << all;
}

TEST(NetSpec, AMissingFileIsAnInputError)
{
    try {
        NetSpec::load("/nonexistent/net.znn");
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/net.znn: cannot read the network file"), std::string::npos) << e.what();
    }
}
