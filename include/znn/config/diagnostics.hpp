#pragma once
/// @file
/// @brief Diagnostics: collect every problem of an input (with its location) and report them at once.
///
/// Readers of user files (.cfg, .spec, .znn) do not stop at the first mistake: a user who fixes one
/// error only to meet the next wastes a batch-queue slot each time. They add every problem here, and
/// throw_if_errors() raises one InputError that lists them all, each as `file:line: message`.
///
/// Example:
/// @code
///   Diagnostics d;
///   d.error("job.cfg", 12, "unknown key 'lerning_rate' (did you mean 'learning_rate'?)");
///   d.throw_if_errors();   // InputError: "2 problems:\n  job.cfg:12: unknown key ..."
/// @endcode

#include <string>
#include <string_view>
#include <vector>

namespace znn::config {

/// @brief A list of errors and warnings, each located at `file:line` (line 0: the whole file).
class Diagnostics {
public:
    struct Entry {
        std::string where;  ///< `file:line`, `file`, `--set key`, ...
        std::string message;
    };

    void error(std::string_view file, long line, std::string message);
    void error_at(std::string where, std::string message);
    void warning(std::string_view file, long line, std::string message);

    bool has_errors() const noexcept { return !errors_.empty(); }
    const std::vector<Entry>& errors() const noexcept { return errors_; }
    const std::vector<Entry>& warnings() const noexcept { return warnings_; }
    /// Appends another collection's entries.
    void merge(const Diagnostics& other);

    /// Throws one InputError listing every error (scope AllRanks: every rank reads the same files).
    /// A single error keeps its own location; several are listed one per line.
    void throw_if_errors() const;

private:
    std::vector<Entry> errors_;
    std::vector<Entry> warnings_;
};

/// The candidate closest to `word` by edit distance (case-insensitive), or empty if none is close
/// enough to be a plausible typo.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace znn::config
