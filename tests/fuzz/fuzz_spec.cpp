// libFuzzer target: the `.spec` reader ([imageN], [labelN], [sampleN]) and binding resolution.
#include "fuzz_support.hpp"
#include "znn/config/diagnostics.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/sample_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    fuzz::expect_clean([&] {
        config::Diagnostics d;
        config::IniFile ini;
        ini.parse(fuzz::as_text(data, size), "/fuzz/data.spec", d);
        const config::SampleSpec spec = config::SampleSpec::from_ini(ini, d);
        for (const auto& [id, sample] : spec.samples) {
            config::Diagnostics r;
            (void)spec.resolve(id, {"input"}, {"output"}, true, r);
        }
        d.throw_if_errors();
    });
    return 0;
}
