#include "znn/core/vec3.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

namespace znn::core {
namespace {

std::vector<std::string_view> split_commas(std::string_view text)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        parts.push_back(text.substr(start, comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return parts;
}

template <class T> std::optional<T> parse_number(std::string_view s)
{
    if (s.empty()) return std::nullopt;
    T value{};
    const char* first = s.data();
    if constexpr (std::is_integral_v<T>) {
        if (*first == '+') ++first;  // from_chars does not accept a leading '+'
    }
    const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(value)) return std::nullopt;
    }
    return value;
}

template <class T> std::optional<Vec3<T>> parse_vec3(std::string_view text)
{
    const auto parts = split_commas(text);
    if (parts.size() != 1 && parts.size() != 3) return std::nullopt;
    Vec3<T> v;
    for (int axis = 0; axis < 3; ++axis) {
        const auto n = parse_number<T>(parts[parts.size() == 1 ? 0 : axis]);
        if (!n) return std::nullopt;
        v[axis] = *n;
    }
    return v;
}

}  // namespace

std::string to_string(const Vec3i& v)
{
    return std::to_string(v.z) + "," + std::to_string(v.y) + "," + std::to_string(v.x);
}

std::string to_string(const Vec3d& v)
{
    std::ostringstream os;
    os << v.z << "," << v.y << "," << v.x;
    return os.str();
}

std::optional<Vec3i> parse_vec3i(std::string_view text)
{
    return parse_vec3<std::int64_t>(text);
}
std::optional<Vec3d> parse_vec3d(std::string_view text)
{
    return parse_vec3<double>(text);
}

Box3 intersect(const Box3& a, const Box3& b)
{
    const Vec3i lo = max(a.origin, b.origin);
    const Vec3i hi = min(a.end(), b.end());
    return {lo, max(hi - lo, Vec3i::all(0))};
}

std::string to_string(const Box3& b)
{
    return to_string(b.origin) + "+" + to_string(b.size);
}

}  // namespace znn::core
