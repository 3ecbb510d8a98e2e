#include "znn/fft/plan_cache.hpp"

#include <fftw3.h>

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
    if (!p) throw core::InternalError("FFTW could not plan " + spec.to_string());
    return *plans_.emplace(spec, std::make_unique<Plan>(p)).first->second;
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
