// znn bench allreduce: times the all-reduce that averages gradients, at sizes of networks' gradients.

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/core/error.hpp"

namespace znn::app {

int bench_allreduce(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench allreduce", "[--mb 1,4,16,64] [options]   (under mpirun)",
                    "Times the sum over ranks of float arrays of the given sizes, as training averages gradients:\n"
                    "the ranks meet at a barrier, then all-reduce: blocking (MPI_Allreduce, the trainer's default) and\n"
                    "non-blocking (MPI_Iallreduce and wait, as with grad_overlap = yes). Prints one JSON line per size:\n"
                    "median and fastest seconds of each, and the bus bandwidth of the blocking one\n"
                    "2(p-1)/p * bytes / seconds, the figure a ring all-reduce's cost model divides by (compare it\n"
                    "with the interconnect's bandwidth before a long run).",
                    po::options_description("Options"), {}};
    cli.options.add_options()("mb", po::value<std::string>()->default_value("1,4,16,64"), "sizes in MiB, comma-separated")(
        "iters", po::value<int>()->default_value(20), "timed repetitions per size (after 3 untimed)");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const int iters = (*vm)["iters"].as<int>();
    if (iters < 1) usage_error("iters", "must be positive");
    std::vector<double> sizes;
    std::istringstream list((*vm)["mb"].as<std::string>());
    for (std::string item; std::getline(list, item, ',');) {
        char* end = nullptr;
        const double mb = std::strtod(item.c_str(), &end);
        if (end == item.c_str() || *end != '\0' || !(mb > 0) || mb > 4096) usage_error("mb", "expected sizes in MiB like 1,4,16, got '" + item + "'");
        sizes.push_back(mb);
    }
    const dist::Comm& comm = context.comm;
    const double p = comm.size();
    for (const double mb : sizes) {
        std::vector<float> data(static_cast<std::size_t>(mb * double(1 << 20) / sizeof(float)), 1.0f);
        auto time = [&](bool blocking) {
            std::vector<double> times;
            for (int i = -3; i < iters; ++i) {
                comm.barrier();
                const auto start = std::chrono::steady_clock::now();
                if (blocking) {
                    comm.allreduce_sum(std::span<float>(data));
                } else {
                    MPI_Request request = comm.start_allreduce_sum(std::span<float>(data));
                    dist::Comm::wait(std::span<MPI_Request>(&request, 1));
                }
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (i >= 0) times.push_back(comm.max(s));  // the slowest rank's time
            }
            std::sort(times.begin(), times.end());
            return times;
        };
        const std::vector<double> blocking = time(true), nonblocking = time(false);
        const double median = blocking[blocking.size() / 2], bytes = double(data.size() * sizeof(float));
        std::ostringstream os;
        os.precision(4);
        os << "{\"bench\":\"allreduce\",\"ranks\":" << comm.size() << ",\"mib\":" << mb << ",\"median_s\":" << median
           << ",\"min_s\":" << blocking.front() << ",\"nonblocking_median_s\":" << nonblocking[nonblocking.size() / 2]
           << ",\"bus_gbytes_per_s\":" << (p > 1 ? 2 * (p - 1) / p * bytes / median / 1e9 : 0.0) << "}";
        if (comm.is_root()) std::cout << os.str() << std::endl;
    }
    return 0;
}

}  // namespace znn::app
