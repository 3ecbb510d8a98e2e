#include "python_jobs.hpp"

#include "znn/config/job_files.hpp"
#include "znn/core/build_info.hpp"
#include "znn/dist/agree.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::python {
namespace {

config::JobFiles load_job(const JobRun& run, const dist::Comm& comm)
{
    dist::root_decides(comm, [&] { config::JobFiles::load(run.config, run.overrides); });
    return config::JobFiles::load(run.config, run.overrides);
}

int thread_count(const JobRun& run, const config::JobConfig& c)
{
    return sched::resolve_thread_count(run.threads > 0 ? run.threads : static_cast<int>(c.num_threads));
}

}  // namespace

train::TrainResult train_job(const JobRun& run, const train::TrainOptions& options, const dist::Comm& comm, core::Logger& log,
                             const std::atomic<int>* stop)
{
    const config::JobFiles job = load_job(run, comm);
    sched::ThreadPool pool(thread_count(run, job.config));
    log.info("znn ", core::build_info().version_string(), " (Python): ", comm.size(), " rank(s) x ", pool.threads(), " thread(s), ",
             core::to_string(run.engines.simd), " kernels");
    log.info("job ", run.config);
    train::Trainer trainer(job, options, {comm, pool, run.engines, log, stop});
    return trainer.run();
}

std::vector<infer::SampleOutcome> forward_job(const JobRun& run, const infer::ForwardOptions& options, const dist::Comm& comm,
                                              core::Logger& log, const std::atomic<int>* stop)
{
    const config::JobFiles job = load_job(run, comm);
    sched::ThreadPool pool(thread_count(run, job.config));
    log.info("znn ", core::build_info().version_string(), " (Python): ", comm.size(), " rank(s) x ", pool.threads(), " thread(s), ",
             core::to_string(run.engines.simd), " kernels");
    log.info("job ", run.config);
    return infer::run_forward(job, options, {comm, pool, run.engines, log, stop});
}

}  // namespace znn::python
