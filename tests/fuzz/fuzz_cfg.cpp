// libFuzzer target: the `.cfg` reader (INI syntax, every option and its checks) with the sample
// sections it may hold.
#include "fuzz_support.hpp"
#include "znn/config/diagnostics.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/job_config.hpp"
#include "znn/config/sample_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    fuzz::expect_clean([&] {
        config::Diagnostics d;
        config::IniFile ini;
        ini.parse(fuzz::as_text(data, size), "/fuzz/job.cfg", d);
        const config::JobConfig c = config::JobConfig::from_ini(ini, "/fuzz/job.cfg", {"eta=0.5"}, d);
        (void)c.resolved_text();
        (void)config::SampleSpec::from_ini(ini, d);
        d.throw_if_errors();
    });
    return 0;
}
