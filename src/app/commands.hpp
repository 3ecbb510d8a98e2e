#pragma once
// Entry points of the subcommands (private to src/app); each parses its own options.

#include <string>
#include <vector>

#include "command_line.hpp"

namespace znn::app {

/// Exit code of a run stopped by a signal (or by its iteration budget) with its work saved: run the
/// same command again to continue (EX_TEMPFAIL; the slurm/ scripts requeue on it).
constexpr int kStoppedExitCode = 75;

int run_version(const std::vector<std::string>& args, Context& context);
int run_convert(const std::vector<std::string>& args, Context& context);
int run_bench(const std::vector<std::string>& args, Context& context);
int bench_net(const std::vector<std::string>& args, Context& context);
int bench_data(const std::vector<std::string>& args, Context& context);
int bench_malis(const std::vector<std::string>& args, Context& context);
int bench_allreduce(const std::vector<std::string>& args, Context& context);
int run_synth(const std::vector<std::string>& args, Context& context);
int run_init(const std::vector<std::string>& args, Context& context);
int run_apply(const std::vector<std::string>& args, Context& context);
int run_info(const std::vector<std::string>& args, Context& context);
int run_check(const std::vector<std::string>& args, Context& context);
int run_train(const std::vector<std::string>& args, Context& context);
int run_forward(const std::vector<std::string>& args, Context& context);
int run_eval(const std::vector<std::string>& args, Context& context);

}  // namespace znn::app
