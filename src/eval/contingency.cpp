#include "znn/eval/contingency.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "znn/core/rng.hpp"

namespace znn::eval {

std::size_t Contingency::PairHash::operator()(const std::pair<std::uint64_t, std::uint64_t>& p) const noexcept
{
    return static_cast<std::size_t>(core::mix64(p.first * 0x9E3779B97F4A7C15ull ^ core::mix64(p.second)));
}

void Contingency::add(std::uint64_t gt, std::uint64_t seg, std::int64_t count)
{
    if (count == 0) return;
    counts_[{gt, seg}] += count;
    voxels_ += count;
}

void Contingency::merge(const Contingency& other)
{
    for (const auto& [key, count] : other.counts_)
        counts_[key] += count;
    voxels_ += other.voxels_;
    ignored_ += other.ignored_;
}

void Contingency::rename_segments(const std::unordered_map<std::uint64_t, std::uint64_t>& rename)
{
    if (rename.empty()) return;
    decltype(counts_) renamed;
    renamed.reserve(counts_.size());
    for (const auto& [key, count] : counts_) {
        const auto it = rename.find(key.second);
        renamed[{key.first, it == rename.end() ? key.second : it->second}] += count;
    }
    counts_ = std::move(renamed);
}

std::vector<Contingency::Entry> Contingency::sorted_entries() const
{
    std::vector<Entry> entries;
    entries.reserve(counts_.size());
    for (const auto& [key, count] : counts_)
        entries.push_back({key.first, key.second, count});
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.gt != b.gt ? a.gt < b.gt : a.seg < b.seg; });
    return entries;
}

namespace {

using Entry = Contingency::Entry;

double xlog2x(double x) { return x > 0 ? x * std::log2(x) : 0.0; }

int owner(std::uint64_t label, int ranks)
{
    return static_cast<int>(core::mix64(label) % static_cast<std::uint64_t>(ranks));
}

/// Sends every entry to the owner of its key (gt or seg label), and merges what arrives: the entries
/// with equal (gt, seg) from different ranks become one, sorted by (key, other label).
std::vector<Entry> shuffle(const std::vector<Entry>& entries, bool by_gt, const dist::Comm& comm)
{
    const int ranks = comm.is_serial() ? 1 : comm.size();
    std::vector<std::vector<Entry>> outgoing(static_cast<std::size_t>(ranks));
    for (const Entry& e : entries)
        outgoing[static_cast<std::size_t>(owner(by_gt ? e.gt : e.seg, ranks))].push_back(e);
    std::vector<Entry> mine = comm.exchange(outgoing);
    const auto key = [by_gt](const Entry& e) { return by_gt ? std::pair{e.gt, e.seg} : std::pair{e.seg, e.gt}; };
    std::sort(mine.begin(), mine.end(), [&](const Entry& a, const Entry& b) { return key(a) < key(b); });
    std::vector<Entry> merged;
    for (const Entry& e : mine) {
        if (!merged.empty() && key(merged.back()) == key(e))
            merged.back().count += e.count;
        else
            merged.push_back(e);
    }
    return merged;
}

// The sums the scores are made of (file comment of contingency.hpp); summed over ranks.
enum Sum : std::size_t {
    kN,           // Σ n_ij
    kNN,          // Σ n_ij²
    kNNnz,        // Σ_{j≠0} n_ij²
    kC,           // Σ_i n_i0
    kNlogN,       // Σ n_ij log2 n_ij
    kAA,          // Σ a_i²
    kAlogA,       // Σ a_i log2 a_i
    kBB,          // Σ b_j²
    kBBnz,        // Σ_{j≠0} b_j²
    kBlogB,       // Σ b_j log2 b_j
    kGtSegments,  // rows
    kSegments,    // columns other than 0
    kSums
};

}  // namespace

Scores score(const Contingency& local, const dist::Comm& comm)
{
    std::array<double, kSums> s{};
    // By ground-truth label: every n_ij complete, and every row.
    const std::vector<Entry> rows = shuffle(local.sorted_entries(), true, comm);
    for (std::size_t k = 0; k < rows.size();) {
        double a = 0;
        const std::uint64_t gt = rows[k].gt;
        for (; k < rows.size() && rows[k].gt == gt; ++k) {
            const double n = double(rows[k].count);
            a += n;
            s[kN] += n;
            s[kNN] += n * n;
            if (rows[k].seg != 0) s[kNNnz] += n * n;
            if (rows[k].seg == 0) s[kC] += n;
            s[kNlogN] += xlog2x(n);
        }
        s[kAA] += a * a;
        s[kAlogA] += xlog2x(a);
        s[kGtSegments] += 1;
    }
    // By segmentation label: every column.
    const std::vector<Entry> columns = shuffle(rows, false, comm);
    for (std::size_t k = 0; k < columns.size();) {
        double b = 0;
        const std::uint64_t seg = columns[k].seg;
        for (; k < columns.size() && columns[k].seg == seg; ++k)
            b += double(columns[k].count);
        s[kBB] += b * b;
        if (seg != 0) {
            s[kBBnz] += b * b;
            s[kSegments] += 1;
        }
        s[kBlogB] += xlog2x(b);
    }
    comm.allreduce_sum(std::span<double>(s));

    Scores r;
    r.voxels = static_cast<std::int64_t>(s[kN]);
    r.ignored = comm.sum<std::int64_t>(local.ignored());
    r.gt_segments = static_cast<std::int64_t>(s[kGtSegments]);
    r.segments = static_cast<std::int64_t>(s[kSegments]);
    r.background = static_cast<std::int64_t>(s[kC]);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto ratio = [nan](double a, double b) { return b > 0 ? a / b : nan; };
    const auto error = [](double p, double q) { return 1.0 - 2.0 * p * q / (p + q); };

    const double N = s[kN];
    const double pairs = s[kNN] - N;
    r.rand_precision = ratio(pairs, s[kBB] - N);
    r.rand_recall = ratio(pairs, s[kAA] - N);
    r.rand_error = error(r.rand_precision, r.rand_recall);

    const double n_all = N + double(r.ignored);
    const double singletons = n_all > 0 ? s[kC] / n_all : 0.0;
    r.cremi_precision = ratio(s[kNNnz] + singletons, s[kBBnz] + singletons);
    r.cremi_recall = ratio(s[kNNnz] + singletons, s[kAA]);
    r.cremi_error = error(r.cremi_precision, r.cremi_recall);

    // Conditional entropies are >= 0; rounding can leave -1e-16 for a perfect match.
    r.voi_split = N > 0 ? std::max(0.0, (s[kAlogA] - s[kNlogN]) / N) : nan;
    r.voi_merge = N > 0 ? std::max(0.0, (s[kBlogB] - s[kNlogN]) / N) : nan;
    return r;
}

}  // namespace znn::eval
