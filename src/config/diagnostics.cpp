#include "znn/config/diagnostics.hpp"

#include <algorithm>
#include <cctype>

#include "znn/config/text_file.hpp"
#include "znn/config/values.hpp"
#include "znn/core/error.hpp"

namespace znn::config {
namespace {

std::string location(std::string_view file, long line)
{
    std::string w(file);
    if (line > 0) w.append(":").append(std::to_string(line));
    return w;
}

std::size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

/// Adds an entry (every one counts: readers compare errors().size() before and after a check).
void add(std::vector<Diagnostics::Entry>& entries, std::string where, std::string message)
{
    entries.push_back({printable(where), printable(message)});
}

}  // namespace

void Diagnostics::error(std::string_view file, long line, std::string message)
{
    add(errors_, location(file, line), std::move(message));
}

void Diagnostics::error_at(std::string where, std::string message) { add(errors_, std::move(where), std::move(message)); }

void Diagnostics::warning(std::string_view file, long line, std::string message)
{
    add(warnings_, location(file, line), std::move(message));
}

void Diagnostics::merge(const Diagnostics& other)
{
    errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end());
    warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
}

void Diagnostics::throw_if_errors() const
{
    if (errors_.empty()) return;
    // Each problem once: a volume checked for several uses (training, validation, inference) is
    // reported by each check.
    std::vector<Entry> unique;
    for (const Entry& e : errors_)
        if (std::none_of(unique.begin(), unique.end(), [&](const Entry& u) { return u.where == e.where && u.message == e.message; }))
            unique.push_back(e);
    if (unique.size() == 1)
        throw core::InputError(unique[0].message).at(unique[0].where).scope(core::ErrorScope::AllRanks);
    std::string text = std::to_string(unique.size()) + " problems:";
    for (const Entry& e : unique) text += "\n  " + (e.where.empty() ? std::string() : e.where + ": ") + e.message;
    throw core::InputError(text).scope(core::ErrorScope::AllRanks);
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates)
{
    const std::string w = lower(std::string(word));
    std::string best;
    std::size_t best_distance = std::string::npos;
    for (const std::string& c : candidates) {
        const std::size_t d = edit_distance(w, lower(c));
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    // Plausible typos only: a third of the word may differ (at least 2 edits allowed), or the word is
    // a prefix or suffix of the candidate (a key with its qualifier missing).
    const std::size_t allowed = std::max<std::size_t>(2, w.size() / 3);
    if (best_distance <= allowed) return best;
    for (const std::string& c : candidates) {
        const std::string lc = lower(c);
        if (w.size() >= 4 && (lc.rfind(w, 0) == 0 || (lc.size() >= w.size() && lc.compare(lc.size() - w.size(), w.size(), w) == 0)))
            return c;
    }
    return {};
}

}  // namespace znn::config
