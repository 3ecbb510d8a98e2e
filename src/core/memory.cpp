#include "znn/core/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "znn/core/error.hpp"

namespace znn::core {

std::int64_t peak_resident_bytes()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return std::int64_t(u.ru_maxrss) * 1024;
}

std::int64_t resident_bytes()
{
    std::ifstream in("/proc/self/statm");
    std::int64_t size = 0, resident = 0;
    if (!(in >> size >> resident)) return 0;
    return resident * std::int64_t(sysconf(_SC_PAGESIZE));
}

std::int64_t physical_memory_bytes()
{
    return std::int64_t(sysconf(_SC_PHYS_PAGES)) * std::int64_t(sysconf(_SC_PAGESIZE));
}

namespace {

/// The cgroup (v2: "0::/path") of this process.
std::optional<std::string> cgroup_path()
{
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return std::nullopt;
}

std::optional<std::int64_t> read_limit(const std::string& file)
{
    std::ifstream in(file);
    std::string text;
    if (!(in >> text) || text == "max") return std::nullopt;
    try {
        const long long v = std::stoll(text);
        // cgroup v1 reports "no limit" as a huge number.
        if (v <= 0 || v >= (std::int64_t(1) << 60)) return std::nullopt;
        return std::int64_t(v);
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

std::optional<std::int64_t> cgroup_memory_limit()
{
    std::optional<std::int64_t> limit;
    const auto keep = [&](std::optional<std::int64_t> v) {
        if (v && (!limit || *v < *limit)) limit = v;
    };
    if (const auto path = cgroup_path()) {
        // Every level of the hierarchy may limit; the tightest wins.
        std::string p = *path;
        while (true) {
            keep(read_limit("/sys/fs/cgroup" + p + (p.empty() || p.back() != '/' ? "/" : "") + "memory.max"));
            if (p.empty() || p == "/") break;
            p = p.substr(0, p.find_last_of('/'));
        }
    }
    keep(read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
    return limit;
}

std::int64_t usable_memory_bytes()
{
    const std::int64_t physical = physical_memory_bytes();
    const auto limit = cgroup_memory_limit();
    return limit ? std::min(*limit, physical) : physical;
}

void require_memory(double bytes, const std::string& what)
{
    const double usable = static_cast<double>(usable_memory_bytes());
    if (bytes > usable)
        throw InputError(what + " would need about " + bytes_text(bytes) + ", more than the " + bytes_text(usable) +
                         " this process may use");
}

std::optional<std::int64_t> parse_byte_size(const std::string& text)
{
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (...) {
        return std::nullopt;
    }
    if (!(value >= 0) || !std::isfinite(value)) return std::nullopt;
    std::string suffix = text.substr(used);
    for (char& ch : suffix)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (suffix == "IB" || suffix == "B") suffix.clear();
    if (suffix.size() == 3 && suffix.substr(1) == "IB") suffix = suffix.substr(0, 1);
    if (suffix.size() == 2 && suffix[1] == 'B') suffix = suffix.substr(0, 1);
    double scale = 1;
    if (suffix == "K") scale = 1024.0;
    else if (suffix == "M") scale = 1048576.0;
    else if (suffix == "G") scale = 1073741824.0;
    else if (suffix == "T") scale = 1099511627776.0;
    else if (!suffix.empty()) return std::nullopt;
    const double bytes = value * scale;
    if (bytes > 9e18) return std::nullopt;
    return static_cast<std::int64_t>(std::llround(bytes));
}

std::string bytes_text(double bytes)
{
    static constexpr const char* kUnits[] = {"MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = bytes / double(1 << 20);
    int unit = 0;
    while (value >= 1024.0 && unit < 4) {
        value /= 1024.0;
        ++unit;
    }
    std::ostringstream os;
    if (value >= 1000.0)
        os << std::fixed << std::setprecision(0) << value;
    else
        os << std::setprecision(3) << value;
    os << " " << kUnits[unit];
    return os.str();
}

}  // namespace znn::core
