#include "znn/config/job_files.hpp"

#include "znn/config/path_base.hpp"

namespace znn::config {

JobFiles JobFiles::read(const std::string& cfg_path, const std::vector<std::string>& overrides, Diagnostics& diagnostics)
{
    JobFiles job;
    IniFile ini;
    const std::size_t errors_before = diagnostics.errors().size();
    const std::size_t warnings_before = diagnostics.warnings().size();
    ini.read(cfg_path, diagnostics);
    if (diagnostics.errors().size() > errors_before) return job;  // an unreadable file has nothing more to report
    job.config = JobConfig::from_ini(ini, cfg_path, overrides, diagnostics);
    if (!job.config.data_spec.empty()) ini.read(job.config.data_spec, diagnostics);
    job.samples = SampleSpec::from_ini(ini, diagnostics);
    PathBases bases(ini);
    for (const std::string& file : {cfg_path, job.config.data_spec}) {
        if (file.empty() || (file == job.config.data_spec && file == cfg_path)) continue;
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
