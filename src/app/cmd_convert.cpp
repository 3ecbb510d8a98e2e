// znn convert: volumes between TIFF stacks and HDF5 datasets, any element type, optional crop.

#include "commands.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/agree.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::app {

int run_convert(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"convert",
                    "IN OUT [options]",
                    "Converts a volume between formats: TIFF stacks (.tif, .tiff) and HDF5 datasets\n"
                    "(file.h5[:/dataset], dataset /main by default). The element type is kept unless --dtype\n"
                    "is given (floats to integers round to nearest and clamp to the type's range). With\n"
                    "--offset/--size only that sub-box is read and written. The output is written atomically\n"
                    "and an existing output file is only replaced with --overwrite.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("in", po::value<std::string>()->required(), "input volume (positional)")(
        "out", po::value<std::string>()->required(), "output volume (positional)")(
        "dtype", po::value<std::string>(),
        "output element type: uint8, int8, uint16, int16, uint32, int32, "
        "uint64, int64, float32, float64 (default: as the input)")(
        "offset", po::value<std::string>(), "z,y,x origin of the sub-box to convert (default 0,0,0)")(
        "size", po::value<std::string>(), "z,y,x size of the sub-box (default: to the end)")(
        "gzip", po::value<int>()->default_value(1), "HDF5 output: deflate level 0-9 (0 = uncompressed)")(
        "chunk", po::value<std::string>(), "HDF5 output: chunk shape z,y,x (default about 256 Ki voxels)")(
        "tiff-deflate", po::bool_switch(), "TIFF output: compress pages with deflate")("overwrite", po::bool_switch(),
                                                                                       "replace OUT if it exists");
    add_common_options(cli.options);
    cli.positional.add("in", 1).add("out", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);

    const auto in = io::VolumeUri::parse((*vm)["in"].as<std::string>());
    const auto out = io::VolumeUri::parse((*vm)["out"].as<std::string>());
    std::optional<core::DType> dtype;
    if (vm->count("dtype")) {
        const std::string name = (*vm)["dtype"].as<std::string>();
        dtype = core::parse_dtype(name);
        if (!dtype) usage_error("dtype", "unknown element type '" + name + "'");
    }
    io::VolumeWriteOptions options;
    options.overwrite = (*vm)["overwrite"].as<bool>();
    options.hdf5.gzip_level = (*vm)["gzip"].as<int>();
    if (options.hdf5.gzip_level < 0 || options.hdf5.gzip_level > 9) usage_error("gzip", "level must be 0-9");
    if (vm->count("chunk")) options.hdf5.chunk = parse_vec3_option("chunk", (*vm)["chunk"].as<std::string>());
    options.tiff.deflate = (*vm)["tiff-deflate"].as<bool>();
    const std::optional<core::Vec3i> offset =
        vm->count("offset") ? std::optional(parse_vec3_option("offset", (*vm)["offset"].as<std::string>(), true))
                            : std::nullopt;
    const std::optional<core::Vec3i> size =
        vm->count("size") ? std::optional(parse_vec3_option("size", (*vm)["size"].as<std::string>())) : std::nullopt;

    // One file, one writer: rank 0 converts, and every rank learns the outcome.
    dist::root_decides(context.comm, [&] {
        std::optional<core::Box3> box;
        if (offset || size) {
            const io::VolumeInfo info = io::volume_info(in);
            const core::Vec3i origin = offset.value_or(core::Vec3i{});
            if (!all_lt(origin, info.shape.zyx))
                usage_error("offset", core::to_string(origin) + " lies outside the volume " + in.str() + " of size " +
                                          core::to_string(info.shape.zyx) + " (z,y,x)");
            box = core::Box3{origin, size.value_or(info.shape.zyx - origin)};
            if (!all_le(box->end(), info.shape.zyx))
                usage_error(size ? "size" : "offset", "the box " + core::to_string(origin) + " + " + core::to_string(box->size) +
                                                          " reaches past the volume " + in.str() + " of size " +
                                                          core::to_string(info.shape.zyx) + " (z,y,x)");
        }
        tensor::AnyTensor volume = io::read_volume(in, box);
        if (dtype && *dtype != volume.dtype()) {
            tensor::ConversionStats stats;
            try {
                volume = volume.converted(*dtype, &stats);
            } catch (core::Error& e) {
                e.at(in.str());
                throw;
            }
            if (stats.clamped > 0)
                log->warn(stats.clamped, " values were outside the range of ", core::to_string(*dtype),
                          " and were clamped");
        }
        io::write_volume(out, volume, options);
        log->info("converted ", in.str(), " -> ", out.str(), ": ", core::to_string(volume.dtype()), ", shape ",
                  tensor::to_string(volume.shape()), " (c,z,y,x)");
    });
    return 0;
}

}  // namespace znn::app
