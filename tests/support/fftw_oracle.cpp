#include "fftw_oracle.hpp"

#include <fftw3.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace znn::test {
namespace {

std::mutex& planner_mutex()  // FFTW's planner is not thread-safe
{
    static std::mutex m;
    return m;
}

/// FFTW-allocated (SIMD-aligned) array of `count` T.
template <class T>
struct FftwArray {
    explicit FftwArray(std::size_t count) : data(static_cast<T*>(fftwf_malloc(count * sizeof(T))))
    {
        if (!data) throw std::bad_alloc();
    }
    ~FftwArray() { fftwf_free(data); }
    FftwArray(const FftwArray&) = delete;
    FftwArray& operator=(const FftwArray&) = delete;
    T* data;
};

std::size_t complex_count(const core::Vec3i& n) { return static_cast<std::size_t>(n.z * n.y * (n.x / 2 + 1)); }

}  // namespace

std::vector<cfloat> fftw_r2c(const std::vector<float>& volume, const core::Vec3i& n)
{
    if (volume.size() != static_cast<std::size_t>(n.product())) throw std::invalid_argument("fftw_r2c: size");
    FftwArray<float> in(volume.size());
    FftwArray<fftwf_complex> out(complex_count(n));
    fftwf_plan plan;
    {
        std::lock_guard lock(planner_mutex());
        plan = fftwf_plan_dft_r2c_3d(int(n.z), int(n.y), int(n.x), in.data, out.data, FFTW_ESTIMATE);
    }
    std::copy(volume.begin(), volume.end(), in.data);
    fftwf_execute(plan);
    std::vector<cfloat> result(complex_count(n));
    for (std::size_t i = 0; i < result.size(); ++i) result[i] = {out.data[i][0], out.data[i][1]};
    std::lock_guard lock(planner_mutex());
    fftwf_destroy_plan(plan);
    return result;
}

std::vector<float> fftw_c2r(const std::vector<cfloat>& spectrum, const core::Vec3i& n)
{
    if (spectrum.size() != complex_count(n)) throw std::invalid_argument("fftw_c2r: size");
    FftwArray<fftwf_complex> in(spectrum.size());
    FftwArray<float> out(static_cast<std::size_t>(n.product()));
    fftwf_plan plan;
    {
        std::lock_guard lock(planner_mutex());
        plan = fftwf_plan_dft_c2r_3d(int(n.z), int(n.y), int(n.x), in.data, out.data, FFTW_ESTIMATE);
    }
    for (std::size_t i = 0; i < spectrum.size(); ++i) {  // after planning: c2r plans may overwrite their input
        in.data[i][0] = spectrum[i].real();
        in.data[i][1] = spectrum[i].imag();
    }
    fftwf_execute(plan);
    std::vector<float> result(out.data, out.data + n.product());
    std::lock_guard lock(planner_mutex());
    fftwf_destroy_plan(plan);
    return result;
}

std::string fftw_version() { return fftwf_version; }

}  // namespace znn::test
