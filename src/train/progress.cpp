#include "znn/train/progress.hpp"


#include <cmath>
#include <cstdint>
#include <sstream>

namespace znn::train {

std::string duration_text(double s)
{
    if (!std::isfinite(s) || s < 0) return "?";
    const auto t = static_cast<std::int64_t>(s + 0.5);
    std::ostringstream os;
    if (t >= 86400) os << t / 86400 << "d" << (t % 86400) / 3600 << "h";
    else if (t >= 3600) os << t / 3600 << "h" << (t % 3600) / 60 << "m";
    else if (t >= 60) os << t / 60 << "m" << t % 60 << "s";
    else os << t << "s";
    return os.str();
}

std::string fixed(double v, int digits)
{
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(digits);
    os << v;
    return os.str();
}

}  // namespace znn::train
