#include "znn/conv/problem.hpp"

#include <charconv>
#include <cstdio>

#include "znn/core/limits.hpp"

namespace znn::conv {
namespace {

std::string xyz(const Vec3i& v) { return std::to_string(v.z) + "x" + std::to_string(v.y) + "x" + std::to_string(v.x); }

/// Parses "<prefix><a>x<b>x<c>" (or "<prefix><a>" when count is 1) at the start of text.
bool take_numbers(std::string_view& text, char prefix, std::int64_t* out, int count)
{
    if (text.empty() || text.front() != prefix) return false;
    text.remove_prefix(1);
    for (int i = 0; i < count; ++i) {
        if (i > 0) {
            if (text.empty() || text.front() != 'x') return false;
            text.remove_prefix(1);
        }
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out[i]);
        if (ec != std::errc() || ptr == text.data()) return false;
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
    }
    if (!text.empty()) {
        if (text.front() != '_') return false;
        text.remove_prefix(1);
    }
    return true;
}

}  // namespace

double ConvProblem::flops_per_pass() const
{
    return 2.0 * static_cast<double>(in_channels) * static_cast<double>(out_channels) *
           static_cast<double>(kernel.product()) * static_cast<double>(out_size().product()) * static_cast<double>(batch);
}

std::optional<std::string> ConvProblem::invalid_reason() const
{
    if (batch < 1 || in_channels < 1 || out_channels < 1) return "batch and channel counts must be positive";
    if (in_size.min_component() < 1 || kernel.min_component() < 1 || dilation.min_component() < 1)
        return "sizes, kernel and dilation must be positive";
    if (!core::within_axis_limit(in_size) || !core::within_axis_limit(kernel) || !core::within_axis_limit(dilation) ||
        batch > core::kMaxAxis || in_channels > core::kMaxAxis || out_channels > core::kMaxAxis)
        return "sizes, kernel, dilation and channel counts must be at most " + std::to_string(core::kMaxAxis);
    if (!core::checked_count(in_size, batch * in_channels) || !core::checked_count(kernel, in_channels * out_channels))
        return "the input (" + std::to_string(batch * in_channels) + " x " + core::to_string(in_size) + ") or the kernels (" +
               std::to_string(in_channels * out_channels) + " x " + core::to_string(kernel) + ") have more than " +
               std::to_string(core::kMaxElements) + " elements";
    if (out_size().min_component() < 1)
        return "kernel extent " + core::to_string(kernel_extent()) + " is larger than the input " + core::to_string(in_size);
    return std::nullopt;
}

std::string ConvProblem::to_string() const
{
    return "b" + std::to_string(batch) + "_i" + std::to_string(in_channels) + "x" + xyz(in_size) + "_o" +
           std::to_string(out_channels) + "_k" + xyz(kernel) + "_d" + xyz(dilation);
}

std::optional<ConvProblem> ConvProblem::parse(std::string_view text)
{
    ConvProblem p;
    std::int64_t in[4];
    std::int64_t k[3];
    std::int64_t d[3];
    if (!take_numbers(text, 'b', &p.batch, 1) || !take_numbers(text, 'i', in, 4) ||
        !take_numbers(text, 'o', &p.out_channels, 1) || !take_numbers(text, 'k', k, 3) || !take_numbers(text, 'd', d, 3) ||
        !text.empty())
        return std::nullopt;
    p.in_channels = in[0];
    p.in_size = {in[1], in[2], in[3]};
    p.kernel = {k[0], k[1], k[2]};
    p.dilation = {d[0], d[1], d[2]};
    return p;
}

}  // namespace znn::conv
