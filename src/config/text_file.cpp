#include "znn/config/text_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace znn::config {
namespace {

/// Length of the UTF-8 sequence starting at `s[i]`, or 0 when it is not a valid one.
std::size_t utf8_length(std::string_view s, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) >> 6) != 0x2) return 0;
    return n;
}

std::string_view kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const std::size_t n = utf8_length(text, i);
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F) && c != '\n' && c != '\t')) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02X", c);
            out += hex;
            ++i;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
    return out;
}

std::optional<std::string> read_text_file(const std::string& path, std::string_view what, Diagnostics& d)
{
    const std::string kind(what);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        d.error(path, 0, "cannot read the " + kind + " (no such file, or no permission)");
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        d.error(path, 0, "the " + kind + " is " + std::string(kind_of(st.st_mode)) + ", not a text file");
        return std::nullopt;
    }
    if (st.st_size > kMaxTextFileBytes) {
        d.error(path, 0,
                "the " + kind + " has " + std::to_string(st.st_size) + " bytes: too large for a text file (at most " +
                    std::to_string(kMaxTextFileBytes) + "); is it the right file?");
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        d.error(path, 0, "cannot read the " + kind + " (no permission)");
        return std::nullopt;
    }
    std::string text;
    text.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[1 << 16];
    while (in && static_cast<std::int64_t>(text.size()) <= kMaxTextFileBytes) {
        in.read(buffer, sizeof buffer);
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) {
        d.error(path, 0, "cannot read the " + kind + " (read error)");
        return std::nullopt;
    }
    if (static_cast<std::int64_t>(text.size()) > kMaxTextFileBytes) {  // it grew while read
        d.error(
            path, 0,
            "the " + kind + " is too large for a text file (at most " + std::to_string(kMaxTextFileBytes) + " bytes)");
        return std::nullopt;
    }
    if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
        const long line =
            1 + static_cast<long>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
        d.error(path, line, "the " + kind + " holds a NUL byte: it is not a text file (binary, HDF5 or TIFF?)");
        return std::nullopt;
    }
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 byte-order mark
    return text;
}

}  // namespace znn::config
