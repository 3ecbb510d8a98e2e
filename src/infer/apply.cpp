#include "znn/infer/apply.hpp"

#include <chrono>
#include <filesystem>

#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/core/memory.hpp"
#include "znn/data/preprocess.hpp"
#include "znn/infer/block_network.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/volume_io.hpp"
#include "znn/model/network_file.hpp"

namespace znn::infer {

ApplyResult apply(const ApplyRequest& request, core::ParallelFor& threads, const conv::EngineOptions& engines, core::Logger* log)
{
    const config::NetSpec spec = config::NetSpec::load(request.net);
    const auto inputs = spec.input_nodes();
    const auto outputs = spec.output_nodes();
    if (inputs.size() != 1)
        throw core::InputError("znn apply runs networks of one input node; this one has " +
                               std::to_string(inputs.size()))
            .at(spec.file);
    if (outputs.size() != 1)
        throw core::InputError("znn apply writes networks of one output node; this one has " +
                               std::to_string(outputs.size()))
            .at(spec.file);
    const io::VolumeUri in_uri = io::VolumeUri::parse(request.input);
    const io::VolumeUri out_uri = io::VolumeUri::parse(request.output);
    if (!request.overwrite && std::filesystem::exists(out_uri.path))
        throw core::InputError("file exists; choose another name, or replace it with --overwrite").at(out_uri.path);
    io::check_writable_location(out_uri.path);

    for (const std::string& other : {request.weights, request.net}) {
        std::error_code ec;
        if (std::filesystem::equivalent(out_uri.path, other, ec))
            throw core::InputError("is the network " + std::string(other == request.net ? "specification (the .znn)" : "file (--weights)") +
                                   "; choose another output")
                .at(out_uri.path);
    }
    tensor::Tensor<float> volume = io::read_volume(in_uri).to<float>();
    if (const auto bad = tensor::find_non_finite(volume.cview()))
        throw core::InputError("holds " + std::to_string(bad->count) + " NaN or infinite value(s), the first at channel " +
                               std::to_string(bad->channel) + ", z,y,x " + core::to_string(bad->at))
            .at(in_uri.str());
    const std::int64_t maps = spec.node(inputs[0])->size;
    if (volume.channels() != maps)
        throw core::InputError("has " + std::to_string(volume.channels()) + " channels; the input node '" + inputs[0] +
                               "' takes " + std::to_string(maps))
            .at(in_uri.str());
    const Vec3i fov = graph::NetShapes::for_output(spec, {1, 1, 1}).fov().at(inputs[0]);
    const Vec3i block = volume.size() - fov + 1;
    if (block.min_component() < 1)
        throw core::InputError("is " + core::to_string(volume.size()) + ", smaller than the network's field of view " +
                               core::to_string(fov))
            .at(in_uri.str());
    if (request.preprocess != config::Preprocess::None) {
        data::VolumeStatistics stats(volume.channels(), volume.size().z);
        stats.add_sections(volume.cview(), 0);
        const data::MirroredVolume whole{in_uri, volume.size(), {}, {}, {}, volume.channels()};
        data::preprocess_region(volume.view(), {0, 0, 0}, whole, request.preprocess, stats);
    }

    ApplyResult result;
    const model::NetworkFileMeta meta = model::read_network_meta(request.weights);
    graph::NetworkOptions options = request.options;
    if (request.stored_plan && !meta.conv_choices.empty()) {
        options.conv_choices = meta.conv_choices;
        result.used_stored_plan = true;
    }
    auto params = graph::ParameterStore<float>::create(spec, graph::NetShapes::for_output(spec, {1, 1, 1}));
    const model::LoadReport loaded = model::load_network(request.weights, spec, *params, model::LoadMode::Resume);
    {  // Refuse before the network allocates: its estimate with the engines, at this block.
        graph::NetworkOptions inference = options;
        inference.usage = conv::Usage::Inference;
        const graph::NetShapes shapes = graph::NetShapes::for_output(spec, block);
        try {
            core::require_memory(double(shapes.memory_bytes()) + double(volume.count()) * 8.0, "znn apply on this whole volume");
            core::require_memory(double(graph::estimate_memory(spec, shapes, inference, {threads, engines, nullptr, log}).total()) +
                                     double(volume.count()) * 8.0,
                                 "znn apply on this whole volume");
        } catch (core::InputError& e) {
            throw core::InputError(e.message() + "; znn forward runs it in blocks").at(in_uri.str());
        }
    }
    BlockNetwork net(spec, block, params, options, {threads, engines, nullptr, log}, request.softmax);
    tensor::copy(volume.cview(), net.input(inputs[0]));
    const auto start = std::chrono::steady_clock::now();
    net.run();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const tensor::TensorView<const float> out_view = net.output(outputs[0]);
    tensor::Tensor<float> out(out_view.shape(), core::Init::Uninitialized);
    tensor::copy(out_view, out.view());
    io::VolumeWriteOptions write_options;
    write_options.overwrite = request.overwrite;
    io::write_volume(out_uri, tensor::AnyTensor(std::move(out), 4), write_options);
    result.groups_loaded = loaded.loaded.size();
    result.from_original = loaded.meta.format_version == 0;
    result.input = in_uri.str();
    result.output = out_uri.str();
    result.input_size = volume.size();
    result.output_size = block;
    return result;
}

}  // namespace znn::infer
