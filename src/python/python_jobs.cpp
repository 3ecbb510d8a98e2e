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

namespace {

std::vector<Evaluation> run_tasks(const std::vector<eval::EvalTask>& tasks, const dist::Comm& comm, core::Logger& log)
{
    std::vector<Evaluation> r;
    for (const eval::EvalTask& t : tasks) {
        log.info(t.name, ": ", t.seg.str(), " (", eval::to_string(t.how.kind), ") against ", t.gt.str(), "; ",
                 core::to_string(t.seg_box.size), " voxels, aligned ", t.alignment);
        r.push_back({t, eval::evaluate(t, comm)});
    }
    return r;
}

}  // namespace

std::vector<Evaluation> eval_job(const JobRun& run, const std::optional<std::set<std::int64_t>>& range, const eval::EvalOptions& options,
                                 const dist::Comm& comm, core::Logger& log)
{
    const config::JobFiles job = load_job(run, comm);
    const std::set<std::int64_t> ids = range ? *range : job.config.forward_range;
    dist::root_decides(comm, [&] { eval::plan_job(job, ids, options); });
    return run_tasks(eval::plan_job(job, ids, options), comm, log);
}

Evaluation evaluate_volumes(const std::string& seg, const std::string& gt, const std::optional<std::string>& mask,
                            const eval::EvalOptions& options, const dist::Comm& comm, core::Logger& log)
{
    dist::root_decides(comm, [&] { eval::plan_task(seg, gt, mask, options); });
    return run_tasks({eval::plan_task(seg, gt, mask, options)}, comm, log).front();
}

}  // namespace znn::python
