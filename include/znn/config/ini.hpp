#pragma once
/// @file
/// @brief The INI files of the original ZNN (.cfg, .spec), read as Python 2's ConfigParser read them.
///
/// Grammar: `[section]` headers; `key = value` or `key: value`; keys are case-insensitive (stored
/// lower-case); lines starting with `#` or `;` are comments; a line starting with whitespace
/// continues the previous value (joined with a newline, as ConfigParser did, so `fnames` lists can
/// span lines). Blank lines end nothing. Every entry remembers its file and line for messages.
/// Interpolation (`%(name)s`) is not supported: the original's files do not use it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "znn/config/diagnostics.hpp"

namespace znn::config {

/// @brief One `key = value` line (plus its continuation lines).
struct IniEntry {
    std::string key;  ///< lower-case
    std::string value;
    std::string file;
    long line = 0;
    /// `file:line`
    std::string where() const { return file + ":" + std::to_string(line); }
};

/// @brief One `[section]` with its entries in file order.
struct IniSection {
    std::string name;  ///< as written (section names are case-sensitive, as in ConfigParser)
    std::string file;
    long line = 0;
    std::vector<IniEntry> entries;

    /// The entry for `key` (lower-case); the last one wins when a key repeats.
    const IniEntry* find(std::string_view key) const;
};

/// @brief A parsed INI file (or several, read into one like ConfigParser.read()).
class IniFile {
public:
    /// Parses `text`, attributing lines to `file`. Malformed lines are added to `diagnostics`.
    void parse(std::string_view text, const std::string& file, Diagnostics& diagnostics);
    /// Reads and parses a file; a missing or unreadable file is an error in `diagnostics`.
    void read(const std::string& path, Diagnostics& diagnostics);

    const std::vector<IniSection>& sections() const noexcept { return sections_; }
    /// The section named `name`, or nullptr. Sections of the same name in several files merge, as in
    /// ConfigParser (later entries win).
    const IniSection* find(std::string_view name) const;

private:
    IniSection& section(const std::string& name, const std::string& file, long line);

    std::vector<IniSection> sections_;
};

}  // namespace znn::config
