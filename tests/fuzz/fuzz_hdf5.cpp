// libFuzzer target: the HDF5 volume checks (what `znn check` and every reader run before reading) and
// the reads of small datasets.
#include "fuzz_support.hpp"
#include "znn/config/diagnostics.hpp"
#include "znn/core/limits.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/volume_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    static fuzz::TempFile file(".h5");
    const std::string& path = file.write(data, size);
    fuzz::expect_clean([&] {
        std::vector<std::string> names;
        {
            const io::Hdf5File f = io::Hdf5File::open(path, io::FileMode::Read);
            names = f.list_datasets();
        }
        names.push_back("/main");
        for (std::size_t i = 0; i < names.size() && i < 8; ++i) {
            config::Diagnostics d;
            const auto v = data::check_volume(path + ":" + names[i], "fuzz.spec:1", d);
            if (!v) continue;
            const auto count = core::checked_count(v->info.shape.zyx, v->info.shape.c);
            if (count && *count <= (std::int64_t{1} << 22)) {
                (void)io::read_volume(v->uri);
                (void)data::find_non_finite(*v);
            }
        }
    });
    return 0;
}
