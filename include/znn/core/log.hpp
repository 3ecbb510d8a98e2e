#pragma once
/// @file
/// @brief The logger: levels, rank-0 output by default, one flushed write per line.
///
/// Library modules never write to stdout/stderr; they log through a Logger passed to them. The
/// program's primary output (a JSON benchmark record, `znn version`) goes to stdout; log lines go to
/// the logger's sink (stderr by default), so both can be redirected separately. Under MPI only rank 0
/// prints unless `all_ranks` is set, in which case each line carries the rank. Every line is one
/// write followed by a flush, so lines from several threads or ranks never interleave mid-line and a
/// killed job loses nothing it logged.
///
/// Example:
/// @code
///   Logger log(comm.rank(), {LogLevel::Info, false});
///   log.info("conv3: fft ", 4.1, " ms, direct ", 12.3, " ms");
/// @endcode

#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace znn::core {

enum class LogLevel { Error, Warn, Info, Debug, Trace };

std::string_view to_string(LogLevel level) noexcept;
/// Parses "error", "warn", "info", "debug", "trace" (also "warning").
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;

/// @brief Thread-safe leveled logger. Cheap to query (`enabled`) before building expensive messages.
class Logger {
public:
    /// Receives each finished line (without the trailing newline).
    using Sink = std::function<void(std::string_view line)>;

    struct Options {
        LogLevel level = LogLevel::Info;
        bool all_ranks = false;  ///< print on every rank (lines prefixed with the rank), not only rank 0
        bool timestamps = true;  ///< prefix lines with the wall-clock time
        std::string tag;         ///< a word or two every line carries after the time (e.g. "restart 1")
    };

    /// A logger for `rank` writing to stderr.
    Logger(int rank, Options options);
    /// A logger for `rank` writing to a custom sink (tests, files).
    Logger(int rank, Options options, Sink sink);
    /// A logger that prints nothing (an empty sink).
    static Logger silent();

    /// Whether a line at `level` would be printed by this rank.
    bool enabled(LogLevel level) const noexcept;
    int rank() const noexcept { return rank_; }
    LogLevel level() const noexcept { return options_.level; }

    /// Prints one line at `level` if enabled.
    void write(LogLevel level, std::string_view message);

    template <class... Args> void error(const Args&... args) { log(LogLevel::Error, args...); }
    template <class... Args> void warn(const Args&... args) { log(LogLevel::Warn, args...); }
    template <class... Args> void info(const Args&... args) { log(LogLevel::Info, args...); }
    template <class... Args> void debug(const Args&... args) { log(LogLevel::Debug, args...); }
    template <class... Args> void trace(const Args&... args) { log(LogLevel::Trace, args...); }

    template <class... Args> void log(LogLevel level, const Args&... args)
    {
        if (!enabled(level)) return;
        std::ostringstream os;
        (os << ... << args);
        write(level, os.str());
    }

private:
    int rank_ = 0;
    Options options_;
    Sink sink_;
    std::mutex mutex_;
};

}  // namespace znn::core
