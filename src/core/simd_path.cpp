#include "znn/core/simd_path.hpp"

#include "znn/core/error.hpp"

namespace znn::core {

std::string_view to_string(SimdPath path) noexcept
{
    switch (path) {
    case SimdPath::Avx2: return "avx2";
    case SimdPath::Avx512: return "avx512";
    }
    return "?";
}

std::optional<SimdPath> parse_simd_path(std::string_view name) noexcept
{
    for (SimdPath p : {SimdPath::Avx2, SimdPath::Avx512})
        if (name == to_string(p)) return p;
    return std::nullopt;
}

bool cpu_runs(SimdPath path) noexcept
{
    // libgcc's CPU model also checks (XGETBV) that the operating system saves the AVX and AVX-512 state.
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (path) {
    case SimdPath::Avx2: return avx2;
    case SimdPath::Avx512:
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    }
    return false;
}

SimdPath host_simd_path()
{
    if (cpu_runs(SimdPath::Avx512)) return SimdPath::Avx512;
    if (cpu_runs(SimdPath::Avx2)) return SimdPath::Avx2;
    throw InputError("this CPU has no AVX2 and FMA: znn needs an x86-64-v3 machine (Intel Haswell, AMD Zen or later)");
}

SimdPath choose_simd_path(std::optional<SimdPath> wanted)
{
    const SimdPath host = host_simd_path();
    if (!wanted) return host;
    if (!cpu_runs(*wanted))
        throw InputError("the " + std::string(to_string(*wanted)) + " kernels cannot run on this CPU (it runs " +
                         std::string(to_string(host)) + ")");
    return *wanted;
}

std::string describe_simd_path(SimdPath path)
{
    const SimdPath host = host_simd_path();
    std::string text = std::string(to_string(path)) +
                       (path == SimdPath::Avx512 ? " (16-float AVX-512 kernels" : " (8-float AVX2 kernels");
    text += path == host ? ", the widest this CPU runs)" : "; forced, this CPU runs " + std::string(to_string(host)) + ")";
    return text;
}

}  // namespace znn::core
