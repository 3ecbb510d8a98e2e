#include "command_line.hpp"

#include <cstdio>
#include <iostream>

#include "znn/core/error.hpp"

namespace znn::app {

void add_common_options(po::options_description& options)
{
    options.add_options()("help,h", "show this help and exit")(
        "log-level", po::value<std::string>()->default_value("info"), "error, warn, info, debug or trace")(
        "log-all-ranks", po::bool_switch(), "log on every MPI rank (lines carry the rank), not only rank 0");
}

std::optional<po::variables_map> parse_command_line(const CommandLine& cli, const std::vector<std::string>& args,
                                                    const dist::Comm& comm)
{
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(cli.options).positional(cli.positional).run(), vm);
        if (vm.count("help")) {
            if (comm.is_root()) {
                std::cout << "usage: znn " << cli.name << " " << cli.synopsis << "\n\n"
                          << cli.description << "\n\n"
                          << cli.options << std::flush;
            }
            return std::nullopt;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw core::UsageError(e.what()).scope(core::ErrorScope::AllRanks);
    }
    const std::string level = vm["log-level"].as<std::string>();
    if (!core::parse_log_level(level))
        usage_error("log-level", "unknown level '" + level + "' (error, warn, info, debug, trace)");
    return vm;
}

std::unique_ptr<core::Logger> make_logger(const po::variables_map& vm, const dist::Comm& comm)
{
    core::Logger::Options options;
    options.level = core::parse_log_level(vm["log-level"].as<std::string>()).value();  // validated when parsed
    options.all_ranks = vm["log-all-ranks"].as<bool>();
    return std::make_unique<core::Logger>(comm.rank(), options);
}

core::Vec3i parse_vec3_option(const std::string& option, const std::string& text, bool allow_zero)
{
    const auto v = core::parse_vec3i(text);
    if (!v) usage_error(option, "expected z,y,x (three integers, e.g. 1,64,64), got '" + text + "'");
    if (v->min_component() < (allow_zero ? 0 : 1))
        usage_error(option,
                    std::string("every component must be ") + (allow_zero ? ">= 0" : "> 0") + ", got '" + text + "'");
    return *v;
}

graph::NetworkOptions network_options(const std::string& conv, const config::NetSpec& spec)
{
    graph::NetworkOptions options;
    if (conv == "fft") {
        options.conv_mode = config::ConvMode::Fft;
    } else if (conv == "direct") {
        for (const config::EdgeGroupSpec& e : spec.edges)
            if (e.type == config::EdgeType::Conv) options.conv_choices[e.name] = conv::ConvAlgo::Direct;
    } else if (conv != "auto") {
        usage_error("conv", "fft, direct or auto, got '" + conv + "'");
    }
    return options;
}

void usage_error(const std::string& option, const std::string& message)
{
    throw core::UsageError(message).at("--" + option).scope(core::ErrorScope::AllRanks);
}

}  // namespace znn::app
