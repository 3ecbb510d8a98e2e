#include "znn/config/job_files.hpp"

namespace znn::config {

JobFiles JobFiles::read(const std::string& cfg_path, const std::vector<std::string>& overrides, Diagnostics& diagnostics)
{
    JobFiles job;
    IniFile ini;
    const std::size_t errors_before = diagnostics.errors().size();
    ini.read(cfg_path, diagnostics);
    if (diagnostics.errors().size() > errors_before) return job;  // an unreadable file has nothing more to report
    job.config = JobConfig::from_ini(ini, cfg_path, overrides, diagnostics);
    if (!job.config.data_spec.empty()) ini.read(job.config.data_spec, diagnostics);
    job.samples = SampleSpec::from_ini(ini, diagnostics);
    return job;
}

JobFiles JobFiles::load(const std::string& cfg_path, const std::vector<std::string>& overrides)
{
    Diagnostics diagnostics;
    JobFiles job = read(cfg_path, overrides, diagnostics);
    diagnostics.throw_if_errors();
    return job;
}

}  // namespace znn::config
