#include "znn/config/ini.hpp"

#include "znn/config/text_file.hpp"
#include "znn/config/values.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace znn::config {

const IniEntry* IniSection::find(std::string_view key) const
{
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
        if (it->key == key) return &*it;
    return nullptr;
}

const IniSection* IniFile::find(std::string_view name) const
{
    for (const IniSection& s : sections_)
        if (s.name == name) return &s;
    return nullptr;
}

IniSection& IniFile::section(const std::string& name, const std::string& file, long line)
{
    for (IniSection& s : sections_)
        if (s.name == name) return s;
    sections_.push_back({name, file, line, {}});
    return sections_.back();
}

void IniFile::parse(std::string_view text, const std::string& file, Diagnostics& diagnostics)
{
    std::istringstream in{std::string(text)};
    std::string raw;
    long number = 0;
    IniSection* current = nullptr;
    IniEntry* last = nullptr;  // the entry a continuation line extends
    while (std::getline(in, raw)) {
        ++number;
        if (!raw.empty() && raw.back() == '\r') raw.pop_back();
        const std::string line = trim(raw);
        if (line.empty()) continue;
        if (line[0] == '#' || line[0] == ';') continue;
        if (std::isspace(static_cast<unsigned char>(raw[0])) && last) {
            // Continuation: appended with a newline, as ConfigParser did.
            last->value += "\n" + line;
            continue;
        }
        if (line[0] == '[') {
            const auto close = line.find(']');
            if (close == std::string::npos || close != line.size() - 1 || close == 1) {
                diagnostics.error(file, number, "malformed section header '" + line + "' (expected [name])");
                current = nullptr;
                last = nullptr;
                continue;
            }
            const std::string name = trim(line.substr(1, close - 1));
            if (const IniSection* earlier = find(name))
                diagnostics.warning(file, number, "[" + name + "] appears again (first at " + earlier->file + ":" +
                                                      std::to_string(earlier->line) + "); the two are read as one section");
            current = &section(name, file, number);
            last = nullptr;
            continue;
        }
        const auto sep = line.find_first_of("=:");
        if (sep == std::string::npos || sep == 0) {
            diagnostics.error(file, number, "expected 'key = value', got '" + line + "'");
            last = nullptr;
            continue;
        }
        if (!current) {
            diagnostics.error(file, number, "'" + trim(line.substr(0, sep)) + "' is outside any [section]");
            last = nullptr;
            continue;
        }
        const std::string key = lower(trim(line.substr(0, sep)));
        if (const IniEntry* earlier = current->find(key))
            diagnostics.warning(file, number, "'" + key + "' is set again in [" + current->name + "] (first at " + earlier->file + ":" +
                                                  std::to_string(earlier->line) + "); the last value counts");
        current->entries.push_back({key, trim(line.substr(sep + 1)), file, number});
        last = &current->entries.back();
    }
}

void IniFile::read(const std::string& path, Diagnostics& diagnostics)
{
    if (const auto text = read_text_file(path, "file", diagnostics)) parse(*text, path, diagnostics);
}

}  // namespace znn::config
