// libFuzzer target: the TIFF stack reader (header checks, then the pages of volumes up to 16 Mi values;
// larger ones are refused by the memory check, which is tested on its own).
#include "fuzz_support.hpp"
#include "znn/core/limits.hpp"
#include "znn/io/tiff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace znn;
    static fuzz::TempFile file(".tif");
    const std::string& path = file.write(data, size);
    fuzz::expect_clean([&] {
        const io::TiffInfo info = io::tiff_info(path);
        const auto count = core::checked_count(info.shape.zyx, info.shape.c);
        if (!count || *count > (std::int64_t{1} << 24)) return;
        (void)io::read_tiff(path);
        if (info.shape.zyx.z > 1)
            (void)io::read_tiff(path, core::Box3{{1, 0, 0}, {1, info.shape.zyx.y, info.shape.zyx.x}});
    });
    return 0;
}
