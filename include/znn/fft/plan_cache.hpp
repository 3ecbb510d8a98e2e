#pragma once
/// @file
/// @brief FFTW plans: RAII handles, a thread-safe cache, and the description of a plan (PlanSpec).
///
/// Thread-safety, following the FFTW manual: the planner (and plan destruction) may run on one
/// thread at a time, so every planning call goes through one process-wide lock; executing a plan is
/// safe from any number of threads at once, always through the new-array functions on the caller's
/// buffers. Buffers passed to execute must be aligned as the planner's (16 bytes at least; every
/// AlignedBuffer is 64) and laid out as the spec says.
///
/// A PlanSpec is FFTW's guru interface in a value type: up to 3 transform dimensions and up to 3
/// "howmany" loop dimensions, each with an input and output stride (in elements: floats for real
/// arrays, complex numbers for complex arrays). That covers whole-volume 3D transforms as well as
/// the batched, strided 1D passes of pruned transforms.
///
/// Example:
/// @code
///   PlanCache plans(PlanRigor::Measure);
///   const Plan& fwd = plans.get(PlanSpec::r2c_3d({20, 20, 20}));
///   fwd.r2c(real_tile, spectrum);   // from any thread
/// @endcode

#include <complex>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "znn/core/vec3.hpp"

namespace znn::fft {

using cfloat = std::complex<float>;

/// How hard FFTW searches for a fast algorithm when planning a new shape.
enum class PlanRigor { Estimate, Measure, Patient };

enum class TransformKind { R2C, C2R, Forward, Backward };

/// One dimension of a guru plan: length and strides.
struct IoDim {
    int n = 1;
    int in_stride = 1;
    int out_stride = 1;
    friend auto operator<=>(const IoDim&, const IoDim&) = default;
};

/// @brief Everything that identifies a plan. For R2C/C2R, `dims` are the real (logical) lengths.
struct PlanSpec {
    TransformKind kind = TransformKind::R2C;
    std::vector<IoDim> dims;     ///< transform dimensions, outermost first (1 to 3)
    std::vector<IoDim> howmany;  ///< loop dimensions (0 to 3)
    bool in_place = false;

    friend auto operator<=>(const PlanSpec&, const PlanSpec&) = default;

    /// Contiguous out-of-place 3D real-to-complex of real shape n (complex shape nz×ny×(nx/2+1)).
    static PlanSpec r2c_3d(const core::Vec3i& n);
    /// Contiguous out-of-place 3D complex-to-real (the inverse of r2c_3d, unnormalised).
    static PlanSpec c2r_3d(const core::Vec3i& n);
    /// Elements the input / output array must hold for this spec.
    std::int64_t input_elements() const;
    std::int64_t output_elements() const;
    std::string to_string() const;
};

/// @brief An FFTW plan (single precision). Move-only; executes on caller buffers from any thread.
class Plan {
public:
    explicit Plan(void* plan) : plan_(plan) {}
    Plan(Plan&& other) noexcept : plan_(std::exchange(other.plan_, nullptr)) {}
    Plan& operator=(Plan&&) = delete;
    ~Plan();

    void r2c(float* in, cfloat* out) const;
    void c2r(cfloat* in, float* out) const;  ///< destroys `in` unless the plan preserves it
    void dft(cfloat* in, cfloat* out) const;

private:
    void* plan_;
};

/// @brief Plans by spec, created once and shared. Thread-safe.
class PlanCache {
public:
    explicit PlanCache(PlanRigor rigor = PlanRigor::Measure);
    ~PlanCache();
    PlanCache(const PlanCache&) = delete;
    PlanCache& operator=(const PlanCache&) = delete;

    /// The plan for `spec`, planning it on first use (under the process-wide planner lock).
    const Plan& get(const PlanSpec& spec);

    PlanRigor rigor() const noexcept { return rigor_; }
    std::size_t size() const;

private:
    PlanRigor rigor_;
    mutable std::mutex mutex_;
    std::map<PlanSpec, std::unique_ptr<Plan>> plans_;
};

/// Initialises FFTW's thread support once per process (needed before FFTW-MPI; harmless otherwise).
void init_fftw_threads();

}  // namespace znn::fft
