#include "znn/core/rng.hpp"

#include <cmath>

#include "znn/core/error.hpp"

namespace znn::core {
namespace {

__extension__ using UInt128 = unsigned __int128;

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept
{
    return (x << k) | (x >> (64 - k));
}

}  // namespace

std::uint64_t mix64(std::uint64_t x) noexcept
{
    x += kGolden;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

Rng::Rng(std::uint64_t seed)
{
    std::uint64_t x = seed;
    for (auto& word : s_) {
        x += kGolden;
        word = mix64(x);
    }
}

Rng Rng::stream(std::uint64_t seed, int rank, RngPurpose purpose, std::uint64_t index)
{
    // Chain the keys through the mixer so that nearby keys give unrelated streams.
    std::uint64_t h = mix64(seed);
    h = mix64(h ^ (static_cast<std::uint64_t>(rank) + 1) * 0xD1B54A32D192ED03ull);
    h = mix64(h ^ static_cast<std::uint64_t>(purpose) * 0xAEF17502108EF2D9ull);
    h = mix64(h ^ (index + 1) * 0xDB4F0B9175AE2165ull);
    return Rng(h);
}

std::uint64_t Rng::next_u64()
{
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

float Rng::uniform_float()
{
    return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

double Rng::uniform()
{
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi)
{
    ZNN_CHECK(lo <= hi, "uniform_int: empty range");
    const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (range == ~0ull) return static_cast<std::int64_t>(next_u64());
    const std::uint64_t n = range + 1;
    // Lemire's nearly-divisionless method: unbiased, one 128-bit multiply per draw.
    UInt128 m = static_cast<UInt128>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
        const std::uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = static_cast<UInt128>(next_u64()) * n;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return lo + static_cast<std::int64_t>(m >> 64);
}

double Rng::normal()
{
    // The polar method yields two normals; only one is used so that state() is the whole state.
    double u = 0.0;
    double v = 0.0;
    double s = 0.0;
    do {
        u = 2.0 * uniform() - 1.0;
        v = 2.0 * uniform() - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double factor = std::sqrt(-2.0 * std::log(s) / s);
    return u * factor;
}

Rng::State Rng::state() const
{
    return s_;
}

void Rng::set_state(const State& s)
{
    s_ = s;
}

}  // namespace znn::core
