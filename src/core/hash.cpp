#include "znn/core/hash.hpp"

namespace znn::core {

std::string to_hex(std::uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4)
        s[static_cast<std::size_t>(i)] = digits[v & 15];
    return s;
}

std::string Hash64::hex() const
{
    return to_hex(state_);
}

}  // namespace znn::core
