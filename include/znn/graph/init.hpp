#pragma once
/// @file
/// @brief Parameter initialisers (reference §2.4), reproducible: each group draws from its own
/// stream, Rng::stream(seed, 0, Init, hash of the group's name), so every rank gets the same values
/// and adding a group to a network leaves the others' values unchanged.
///
///     zero, constant c, uniform lo,hi, gaussian μ,σ, bernoulli p (values 0/1),
///     xavier   uniform ±√(6 / (fan_in + fan_out))     (Glorot & Bengio 2010)
///     msra     gaussian(0, √(2 / fan_in))             (He et al. 2015)
/// with fan_in = F_in·|kernel| and fan_out = F_out·|kernel|.

#include <cstdint>
#include <span>
#include <string_view>

#include "znn/config/net_spec.hpp"

namespace znn::graph {

/// Fills `values` as `init` says, from the stream of (seed, group).
template <class T>
void initialize_values(std::span<T> values, const config::InitSpec& init, double fan_in, double fan_out, std::uint64_t seed, std::string_view group);

/// A stable 64-bit hash of a group name (FNV-1a), the stream index of its initialiser.
std::uint64_t name_hash(std::string_view name) noexcept;

}  // namespace znn::graph
