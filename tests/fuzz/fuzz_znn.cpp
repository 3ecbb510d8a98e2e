// libFuzzer target: the `.znn` reader and shape inference (field of view, node sizes, parameters).
#include "fuzz_support.hpp"
#include "znn/config/diagnostics.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/graph/shapes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    fuzz::expect_clean([&] {
        config::Diagnostics d;
        const config::NetSpec net = config::NetSpec::parse(fuzz::as_text(data, size), "fuzz.znn", d);
        if (d.has_errors()) return;
        for (const core::Vec3i outsz : {core::Vec3i{1, 1, 1}, core::Vec3i{2, 3, 5}}) {
            config::Diagnostics shape_d;
            if (const auto shapes = graph::NetShapes::from_output(net, outsz, shape_d)) {
                (void)shapes->parameters();
                (void)shapes->memory_bytes();
                (void)shapes->forward_flops();
                (void)graph::to_dot(net, *shapes);
            }
        }
    });
    return 0;
}
