#include "znn/config/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>

namespace znn::config {
std::string trim(std::string_view s)
{
    std::size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return std::string(s.substr(a, b - a));
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::optional<bool> parse_bool(std::string_view text)
{
    const std::string t = lower(trim(text));
    if (t == "yes" || t == "true" || t == "on" || t == "1") return true;
    if (t == "no" || t == "false" || t == "off" || t == "0") return false;
    return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view text)
{
    const std::string t = trim(text);
    if (t.empty()) return std::nullopt;
    std::int64_t v = 0;
    const char* first = t.data() + (t[0] == '+' ? 1 : 0);
    const auto [ptr, ec] = std::from_chars(first, t.data() + t.size(), v);
    if (ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_real(std::string_view text)
{
    const std::string t = trim(text);
    if (t.empty()) return std::nullopt;
    double v = 0;
    const char* first = t.data() + (t[0] == '+' ? 1 : 0);
    const auto [ptr, ec] = std::from_chars(first, t.data() + t.size(), v);
    if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<core::Vec3i> parse_vec3(std::string_view text)
{
    std::string t = trim(text);
    t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
    return core::parse_vec3i(t);
}

std::optional<std::set<std::int64_t>> parse_id_ranges(std::string_view text, std::string* error)
{
    std::set<std::int64_t> ids;
    {  // Items are separated by commas; an empty one (1,,2) is a typo, a comma at the end is not.
        std::string rest = trim(text);
        if (!rest.empty() && rest.back() == ',') rest.pop_back();
        std::size_t start = 0;
        while (true) {
            const std::size_t comma = rest.find(',', start);
            if (trim(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start)).empty() && !rest.empty()) {
                if (error) *error = "an empty item in '" + trim(text) + "'";
                return std::nullopt;
            }
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    for (const std::string& token : split_list(text)) {
        const auto dash = token.find('-', 1);
        if (dash == std::string::npos) {
            const auto v = parse_int(token);
            if (!v) {
                if (error) *error = "'" + token + "' is not a sample id";
                return std::nullopt;
            }
            ids.insert(*v);
            continue;
        }
        const auto a = parse_int(token.substr(0, dash));
        const auto b = parse_int(token.substr(dash + 1));
        if (!a || !b || *a > *b) {
            if (error) *error = "'" + token + "' is not a range a-b with a <= b";
            return std::nullopt;
        }
        if (*b - *a > 1'000'000) {
            if (error) *error = "range '" + token + "' is implausibly large";
            return std::nullopt;
        }
        for (std::int64_t i = *a; i <= *b; ++i) ids.insert(i);
    }
    return ids;
}

std::string to_string(const std::set<std::int64_t>& ids)
{
    std::string out;
    for (auto it = ids.begin(); it != ids.end();) {
        std::int64_t first = *it, last = *it;
        auto next = std::next(it);
        while (next != ids.end() && *next == last + 1) last = *next++;
        if (!out.empty()) out += ",";
        out += std::to_string(first);
        if (last > first) out += "-" + std::to_string(last);
        it = next;
    }
    return out;
}

std::vector<std::string> split_list(std::string_view text)
{
    std::vector<std::string> items;
    std::string current;
    for (char c : text) {
        if (c == ',' || c == '\n') {
            if (std::string t = trim(current); !t.empty()) items.push_back(t);
            current.clear();
        } else {
            current += c;
        }
    }
    if (std::string t = trim(current); !t.empty()) items.push_back(t);
    return items;
}

std::optional<std::vector<double>> parse_real_list(std::string_view text)
{
    std::vector<double> out;
    for (const std::string& item : split_list(text)) {
        const auto v = parse_real(item);
        if (!v) return std::nullopt;
        out.push_back(*v);
    }
    return out;
}

std::string directory_of(const std::string& file)
{
    const std::filesystem::path p = std::filesystem::path(file).parent_path();
    return p.empty() ? std::string(".") : p.string();
}

std::string resolve_path(const std::string& path, const std::string& base_dir)
{
    if (path.empty() || path[0] == '/') return path;
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::absolute(base_dir, ec);
    return ((ec ? std::filesystem::path(base_dir) : base) / path).lexically_normal().string();
}

}  // namespace znn::config
