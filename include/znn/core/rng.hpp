#pragma once
/// @file
/// @brief Deterministic random streams derived from (seed, rank, purpose, index).
///
/// Every random decision in znn (weight initialisation, patch sampling, augmentation, dropout,
/// synthetic data) draws from its own stream, so that changing one (say, adding an augmentation)
/// never shifts the numbers another sees, and so that a run is reproducible from its seed at any
/// rank count. Streams are xoshiro256** generators seeded through splitmix64 from the four keys.
///
/// The distributions (uniform, normal, integers in a range) are implemented here rather than taken
/// from `<random>`, whose distributions differ between standard libraries: the same seed gives the
/// same numbers with any compiler.
///
/// Example:
/// @code
///   Rng rng = Rng::stream(seed, comm.rank(), RngPurpose::Sampling, thread_index);
///   std::int64_t z = rng.uniform_int(0, depth - 1);
/// @endcode

#include <array>
#include <cstdint>

namespace znn::core {

/// What a stream is used for; part of the stream's identity. Values are stable (stored in files).
enum class RngPurpose : std::uint64_t {
    Init = 1,       ///< parameter initialisation
    Sampling = 2,   ///< training patch positions
    Augment = 3,    ///< data augmentation
    Dropout = 4,    ///< dropout masks
    Synthetic = 5,  ///< synthetic data generation
    Test = 6,       ///< tests and benchmarks
};

/// @brief A xoshiro256** generator with reproducible distributions. Not thread-safe: one per thread.
class Rng {
public:
    using State = std::array<std::uint64_t, 4>;

    /// A generator seeded directly from one 64-bit seed.
    explicit Rng(std::uint64_t seed = 0);

    /// The stream for (seed, rank, purpose, index); index tells apart streams of one purpose
    /// (a thread, a sample, a layer).
    static Rng stream(std::uint64_t seed, int rank, RngPurpose purpose, std::uint64_t index = 0);

    /// Next raw 64 random bits.
    std::uint64_t next_u64();
    /// Uniform in [0, 1) with 24 random bits.
    float uniform_float();
    /// Uniform in [0, 1) with 53 random bits.
    double uniform();
    /// Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Uniform integer in [lo, hi] (both inclusive), unbiased. Requires lo <= hi.
    std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
    /// Standard normal (mean 0, standard deviation 1), Marsaglia's polar method.
    double normal();
    double normal(double mean, double stddev) { return mean + stddev * normal(); }
    /// True with probability p.
    bool bernoulli(double p) { return uniform() < p; }

    /// The whole state, for checkpoints; restoring it continues the stream exactly.
    State state() const;
    void set_state(const State& s);

private:
    State s_{};
};

/// splitmix64 finaliser: a strong 64-bit mixing function (used to derive seeds).
std::uint64_t mix64(std::uint64_t x) noexcept;

}  // namespace znn::core
