#include "znn/core/log.hpp"

#include <chrono>
#include <ctime>

namespace znn::core {
namespace {

void write_stderr(std::string_view line)
{
    std::string buffer(line);
    buffer += '\n';
    std::fwrite(buffer.data(), 1, buffer.size(), stderr);
    std::fflush(stderr);
}

std::string clock_time()
{
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    char text[16];
    std::strftime(text, sizeof(text), "%H:%M:%S", &tm);
    return text;
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept
{
    switch (level) {
        case LogLevel::Error: return "error";
        case LogLevel::Warn: return "warn";
        case LogLevel::Info: return "info";
        case LogLevel::Debug: return "debug";
        case LogLevel::Trace: return "trace";
    }
    return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept
{
    for (LogLevel l : {LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace})
        if (to_string(l) == name) return l;
    if (name == "warning") return LogLevel::Warn;
    return std::nullopt;
}

Logger::Logger(int rank, Options options) : Logger(rank, options, write_stderr) {}

Logger::Logger(int rank, Options options, Sink sink) : rank_(rank), options_(options), sink_(std::move(sink)) {}

Logger Logger::silent()
{
    return Logger(0, Options{}, Sink{});
}

bool Logger::enabled(LogLevel level) const noexcept
{
    if (!sink_ || level > options_.level) return false;
    return rank_ == 0 || options_.all_ranks;
}

void Logger::write(LogLevel level, std::string_view message)
{
    if (!enabled(level)) return;
    std::string line;
    if (options_.timestamps || options_.all_ranks || !options_.tag.empty()) {
        std::string inside;
        auto add = [&inside](const std::string& word) { inside += (inside.empty() ? "" : " ") + word; };
        if (options_.timestamps) add(clock_time());
        if (!options_.tag.empty()) add(options_.tag);
        if (options_.all_ranks) add('r' + std::to_string(rank_));
        line += '[' + inside + "] ";
    }
    if (level == LogLevel::Error) line += "error: ";
    if (level == LogLevel::Warn) line += "warning: ";
    if (level >= LogLevel::Debug) line += std::string(to_string(level)) + ": ";
    line += message;
    const std::lock_guard lock(mutex_);
    sink_(line);
}

}  // namespace znn::core
