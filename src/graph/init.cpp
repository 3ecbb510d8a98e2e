#include "znn/graph/init.hpp"

#include <cmath>

#include "znn/core/rng.hpp"

namespace znn::graph {

std::uint64_t name_hash(std::string_view name) noexcept
{
    std::uint64_t h = 1469598103934665603ull;
    for (const char c : name) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

template <class T>
void initialize_values(std::span<T> values, const config::InitSpec& init, double fan_in, double fan_out, std::uint64_t seed, std::string_view group)
{
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Init, name_hash(group));
    const auto& a = init.args;
    switch (init.kind) {
    case config::InitKind::Zero:
        for (T& v : values) v = T(0);
        break;
    case config::InitKind::Constant:
        for (T& v : values) v = static_cast<T>(a.at(0));
        break;
    case config::InitKind::Uniform:
        for (T& v : values) v = static_cast<T>(rng.uniform(a.at(0), a.at(1)));
        break;
    case config::InitKind::Gaussian:
        for (T& v : values) v = static_cast<T>(rng.normal(a.at(0), a.at(1)));
        break;
    case config::InitKind::Bernoulli:
        for (T& v : values) v = rng.bernoulli(a.at(0)) ? T(1) : T(0);
        break;
    case config::InitKind::Xavier: {
        const double r = std::sqrt(6.0 / (fan_in + fan_out));
        for (T& v : values) v = static_cast<T>(rng.uniform(-r, r));
        break;
    }
    case config::InitKind::Msra: {
        const double sd = std::sqrt(2.0 / fan_in);
        for (T& v : values) v = static_cast<T>(rng.normal(0.0, sd));
        break;
    }
    }
}

template void initialize_values<float>(std::span<float>, const config::InitSpec&, double, double, std::uint64_t, std::string_view);
template void initialize_values<double>(std::span<double>, const config::InitSpec&, double, double, std::uint64_t, std::string_view);

}  // namespace znn::graph
