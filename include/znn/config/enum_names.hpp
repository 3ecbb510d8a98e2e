#pragma once
/// @file
/// @brief Tables of enum names, as the files spell them: lookup both ways, and the list for messages.
///
/// Example:
/// @code
///   constexpr std::pair<std::string_view, Rebalance> kRebalance[] = {{"none", Rebalance::None}, ...};
///   std::optional<Rebalance> r = parse_name(text, kRebalance);   // case-insensitive
///   std::string_view s = name_of(Rebalance::Global, kRebalance);  // "global"
/// @endcode

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace znn::config {

/// The name of `v` in `names` ("?" if absent).
template <class E, std::size_t N> std::string_view name_of(E v, const std::pair<std::string_view, E> (&names)[N]) noexcept
{
    for (const auto& [name, value] : names)
        if (value == v) return name;
    return "?";
}

/// The value named `text` (case-insensitive), or nullopt.
template <class E, std::size_t N> std::optional<E> parse_name(std::string_view text, const std::pair<std::string_view, E> (&names)[N])
{
    std::string t(text);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& [name, value] : names)
        if (t == name) return value;
    return std::nullopt;
}

/// Every name, in table order.
template <class E, std::size_t N> std::vector<std::string> names_of(const std::pair<std::string_view, E> (&names)[N])
{
    std::vector<std::string> out;
    for (const auto& [name, value] : names) out.emplace_back(name);
    return out;
}

/// "a, b, c" for messages.
template <class E, std::size_t N> std::string name_list(const std::pair<std::string_view, E> (&names)[N])
{
    std::string s;
    for (const auto& [name, value] : names) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
}

}  // namespace znn::config
