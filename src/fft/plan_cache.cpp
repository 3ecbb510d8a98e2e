#include "znn/fft/plan_cache.hpp"

#include <fftw3.h>

#include <chrono>
#include <sstream>

#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"

namespace znn::fft {
namespace {

/// FFTW's planner is global state: one lock for the whole process, whatever cache asks.
std::mutex& planner_mutex()
{
    static std::mutex m;
    return m;
}

unsigned rigor_flag(PlanRigor r)
{
    switch (r) {
    case PlanRigor::Estimate: return FFTW_ESTIMATE;
    case PlanRigor::Measure: return FFTW_MEASURE;
    case PlanRigor::Patient: return FFTW_PATIENT;
    }
    return FFTW_MEASURE;
}

std::vector<fftwf_iodim> to_fftw(const std::vector<IoDim>& dims)
{
    std::vector<fftwf_iodim> out;
    for (const IoDim& d : dims) out.push_back({d.n, d.in_stride, d.out_stride});
    return out;
}

/// Largest element index + 1 reached by the strides of dims (input or output side).
std::int64_t extent(const std::vector<IoDim>& dims, const std::vector<IoDim>& loops, bool input, bool complex_x,
                    bool halve_last)
{
    std::int64_t last = 0;
    auto add = [&](const std::vector<IoDim>& ds, bool is_transform) {
        for (std::size_t i = 0; i < ds.size(); ++i) {
            std::int64_t n = ds[i].n;
            if (is_transform && halve_last && complex_x && i + 1 == ds.size()) n = n / 2 + 1;
            last += (n - 1) * static_cast<std::int64_t>(input ? ds[i].in_stride : ds[i].out_stride);
        }
    };
    add(dims, true);
    add(loops, false);
    return last + 1;
}

}  // namespace

PlanSpec PlanSpec::r2c_3d(const core::Vec3i& n)
{
    const int nz = static_cast<int>(n.z), ny = static_cast<int>(n.y), nx = static_cast<int>(n.x);
    const int nxc = nx / 2 + 1;
    return {TransformKind::R2C, {{nz, ny * nx, ny * nxc}, {ny, nx, nxc}, {nx, 1, 1}}, {}, false};
}

PlanSpec PlanSpec::c2r_3d(const core::Vec3i& n)
{
    const int nz = static_cast<int>(n.z), ny = static_cast<int>(n.y), nx = static_cast<int>(n.x);
    const int nxc = nx / 2 + 1;
    return {TransformKind::C2R, {{nz, ny * nxc, ny * nx}, {ny, nxc, nx}, {nx, 1, 1}}, {}, false};
}

std::int64_t PlanSpec::input_elements() const
{
    // R2C input is real (full length); C2R input is complex (half length on the last dimension).
    return extent(dims, howmany, true, kind == TransformKind::C2R, true);
}

std::int64_t PlanSpec::output_elements() const { return extent(dims, howmany, false, kind == TransformKind::R2C, true); }

std::string PlanSpec::to_string() const
{
    std::ostringstream os;
    const char* names[] = {"r2c", "c2r", "fwd", "bwd"};
    os << names[static_cast<int>(kind)] << (in_place ? " in-place" : "") << " dims";
    for (const IoDim& d : dims) os << " " << d.n << "(" << d.in_stride << "," << d.out_stride << ")";
    if (!howmany.empty()) {
        os << " x";
        for (const IoDim& d : howmany) os << " " << d.n << "(" << d.in_stride << "," << d.out_stride << ")";
    }
    return os.str();
}

Plan::~Plan()
{
    if (!plan_) return;
    const std::lock_guard lock(planner_mutex());
    fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
}

void Plan::r2c(float* in, cfloat* out) const
{
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), in, reinterpret_cast<fftwf_complex*>(out));
}

void Plan::c2r(cfloat* in, float* out) const
{
    fftwf_execute_dft_c2r(static_cast<fftwf_plan>(plan_), reinterpret_cast<fftwf_complex*>(in), out);
}

void Plan::dft(cfloat* in, cfloat* out) const
{
    fftwf_execute_dft(static_cast<fftwf_plan>(plan_), reinterpret_cast<fftwf_complex*>(in),
                      reinterpret_cast<fftwf_complex*>(out));
}

PlanCache::PlanCache(PlanRigor rigor) : rigor_(rigor) {}
PlanCache::~PlanCache() = default;

std::size_t PlanCache::size() const
{
    const std::lock_guard lock(mutex_);
    return plans_.size();
}

double PlanCache::planning_seconds() const
{
    const std::lock_guard lock(mutex_);
    return planning_seconds_;
}

const Plan& PlanCache::get(const PlanSpec& spec)
{
    const std::lock_guard lock(mutex_);
    if (auto it = plans_.find(spec); it != plans_.end()) return *it->second;
    ZNN_CHECK(!spec.dims.empty() && spec.dims.size() <= 3 && spec.howmany.size() <= 3, "bad PlanSpec " + spec.to_string());

    // Plan on scratch arrays of the right size and alignment (MEASURE overwrites them).
    const bool real_in = spec.kind == TransformKind::R2C;
    const bool real_out = spec.kind == TransformKind::C2R;
    const std::int64_t in_floats = spec.input_elements() * (real_in ? 1 : 2);
    const std::int64_t out_floats = spec.output_elements() * (real_out ? 1 : 2);
    core::AlignedBuffer<float> in(static_cast<std::size_t>(std::max(in_floats, out_floats) + 8));
    core::AlignedBuffer<float> out_storage(spec.in_place ? 0 : static_cast<std::size_t>(out_floats + 8));
    float* out = spec.in_place ? in.data() : out_storage.data();

    const auto dims = to_fftw(spec.dims);
    const auto loops = to_fftw(spec.howmany);
    const bool preserve = spec.kind != TransformKind::C2R && !spec.in_place;
    const unsigned flags = rigor_flag(rigor_) | (preserve ? FFTW_PRESERVE_INPUT : 0u);
    const auto start = std::chrono::steady_clock::now();
    fftwf_plan p = nullptr;
    {
        const std::lock_guard planner(planner_mutex());
        const int rank = static_cast<int>(dims.size());
        const int hrank = static_cast<int>(loops.size());
        switch (spec.kind) {
        case TransformKind::R2C:
            p = fftwf_plan_guru_dft_r2c(rank, dims.data(), hrank, loops.data(), in.data(),
                                        reinterpret_cast<fftwf_complex*>(out), flags);
            break;
        case TransformKind::C2R:
            p = fftwf_plan_guru_dft_c2r(rank, dims.data(), hrank, loops.data(), reinterpret_cast<fftwf_complex*>(in.data()),
                                        out, flags);
            break;
        case TransformKind::Forward:
        case TransformKind::Backward:
            p = fftwf_plan_guru_dft(rank, dims.data(), hrank, loops.data(), reinterpret_cast<fftwf_complex*>(in.data()),
                                    reinterpret_cast<fftwf_complex*>(out),
                                    spec.kind == TransformKind::Forward ? FFTW_FORWARD : FFTW_BACKWARD, flags);
            break;
        }
    }
    planning_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!p) throw core::InternalError("FFTW could not plan " + spec.to_string());
    return *plans_.emplace(spec, std::make_unique<Plan>(p)).first->second;
}

double PlanCache::r2c_seconds(const core::Vec3i& n)
{
    const std::array<std::int64_t, 3> key{n.z, n.y, n.x};
    {
        const std::lock_guard lock(mutex_);
        if (auto it = r2c_seconds_.find(key); it != r2c_seconds_.end()) return it->second;
    }
    const Plan& plan = get(PlanSpec::r2c_3d(n));
    const std::int64_t count = n.product();
    core::AlignedBuffer<float> real(static_cast<std::size_t>(count));
    core::AlignedBuffer<cfloat> spectrum(static_cast<std::size_t>(n.z * n.y * (n.x / 2 + 1)));
    for (std::int64_t i = 0; i < count; ++i) real[static_cast<std::size_t>(i)] = static_cast<float>(i % 7) * 0.25f;
    // Repeat until ~2 ms have passed, 5 rounds, keep the fastest round (the least disturbed).
    int reps = 1;
    double best = 1e30;
    for (int round = 0; round < 5; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) plan.r2c(real.data(), spectrum.data());
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds / reps);
        if (seconds < 2e-3) reps = std::min(reps * 4, 4096);
    }
    const std::lock_guard lock(mutex_);
    r2c_seconds_[key] = best;
    return best;
}

void init_fftw_threads()
{
    static std::once_flag once;
    std::call_once(once, [] {
        const std::lock_guard lock(planner_mutex());
        fftwf_init_threads();
    });
}

}  // namespace znn::fft
