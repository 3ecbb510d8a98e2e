// libFuzzer target: the network-file loader (meta data, groups, shapes, values, optimizer state)
// against a fixed small network.
#include "fuzz_support.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/model/network_file.hpp"

namespace {

constexpr const char* kNet = R"(nodes input
type input
size 2

edges conv1
type conv
init xavier
size 1,3,3
input input
output hidden

nodes hidden
type transfer
function rectify_linear
size 3

edges pool
type max_filter
size 1,2,2
stride 1,2,2
input hidden
output out

nodes out
type sum
size 3
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    static const config::NetSpec spec = [] {
        config::Diagnostics d;
        config::NetSpec s = config::NetSpec::parse(kNet, "fuzz.znn", d);
        d.throw_if_errors();
        return s;
    }();
    static const graph::NetShapes shapes = graph::NetShapes::for_output(spec, {1, 1, 1});
    static fuzz::TempFile file(".h5");
    const std::string& path = file.write(data, size);
    fuzz::expect_clean([&] { (void)model::read_network_meta(path); });
    for (const model::LoadMode mode : {model::LoadMode::Resume, model::LoadMode::Seed})
        fuzz::expect_clean([&] {
            auto store = graph::ParameterStore<float>::create(spec, shapes);
            model::OptimizerState state;
            (void)model::load_network(path, spec, *store, mode, &state);
        });
    return 0;
}
