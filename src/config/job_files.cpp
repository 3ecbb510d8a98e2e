#include "znn/config/job_files.hpp"

namespace znn::config {

JobFiles JobFiles::read(const std::string& cfg_path, const std::vector<std::string>& overrides, Diagnostics& diagnostics)
{
    JobFiles job;
    IniFile ini;
    const std::size_t errors_before = diagnostics.errors().size();
    const std::size_t warnings_before = diagnostics.warnings().size();
    ini.read(cfg_path, diagnostics);
    if (diagnostics.errors().size() > errors_before) return job;  // an unreadable file has nothing more to report
    // Each file's path directory depends only on its own entries: decided once, for both readers.
    PathBases bases(ini);
    job.config = JobConfig::from_ini(ini, cfg_path, overrides, bases, diagnostics);
    if (!job.config.data_spec.empty()) ini.read(job.config.data_spec, diagnostics);
    job.samples = SampleSpec::from_ini(ini, bases, diagnostics);
    std::vector<std::string> files{cfg_path};
    if (!job.config.data_spec.empty() && job.config.data_spec != cfg_path) files.push_back(job.config.data_spec);
    for (const std::string& file : files) {
        const PathBase& b = bases.of(file);
        if (b.working_directory)
            diagnostics.warning(file, 0,
                                "its paths are read relative to the working directory " + b.directory +
                                    ", as the original ZNN read them (\"" + b.evidence +
                                    "\" is found from there, not from the file's own directory); znn's own jobs name paths "
                                    "relative to the file that names them");
    }
    job.warnings.assign(diagnostics.warnings().begin() + static_cast<std::ptrdiff_t>(warnings_before), diagnostics.warnings().end());
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
