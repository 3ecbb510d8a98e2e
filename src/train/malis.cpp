#include "znn/train/malis.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "znn/core/error.hpp"

namespace znn::train {
namespace {

using tensor::TensorView;

/// Union-find over voxels with path halving and union by size (ties: the smaller index is the root).
class UnionFind {
public:
    explicit UnionFind(std::size_t n) : parent_(n), size_(n, 1) { std::iota(parent_.begin(), parent_.end(), 0u); }
    std::uint32_t find(std::uint32_t v)
    {
        while (parent_[v] != v) {
            parent_[v] = parent_[parent_[v]];
            v = parent_[v];
        }
        return v;
    }
    /// Joins the roots a != b; returns the new root.
    std::uint32_t unite(std::uint32_t a, std::uint32_t b)
    {
        if (size_[a] < size_[b] || (size_[a] == size_[b] && b < a)) std::swap(a, b);
        parent_[b] = a;
        size_[a] += size_[b];
        return a;
    }

private:
    std::vector<std::uint32_t> parent_, size_;
};

/// The geometry of an affinity graph: voxels, and the offset to each edge's other end.
struct Graph {
    core::Vec3i size;
    std::int64_t n = 0;
    std::array<std::int64_t, 3> offset{};  // channel x, y, z

    explicit Graph(const core::Vec3i& s) : size(s), n(s.product()), offset{1, s.x, s.y * s.x} {}
    /// Whether edge (a, q) has its other end inside the patch.
    bool exists(int a, std::int64_t q) const
    {
        const std::int64_t x = q % size.x, y = (q / size.x) % size.y, z = q / (size.x * size.y);
        return (a == 0 ? x : a == 1 ? y : z) > 0;
    }
};

void check_affinity_views(TensorView<const float> a, const char* what)
{
    ZNN_CHECK(a.channels() == 3 && a.is_contiguous(), std::string("MALIS: the ") + what + " must be 3 contiguous affinity channels");
}

/// Connected components of the edges `joined(e)`; components of one voxel get `single`, others
/// their root.
template <class Joined> std::vector<std::uint32_t> components(const Graph& g, Joined&& joined)
{
    UnionFind uf(static_cast<std::size_t>(g.n));
    for (int a = 0; a < 3; ++a)
        for (std::int64_t q = 0; q < g.n; ++q)
            if (g.exists(a, q) && joined(a * g.n + q)) {
                const auto r1 = uf.find(static_cast<std::uint32_t>(q)), r2 = uf.find(static_cast<std::uint32_t>(q - g.offset[static_cast<std::size_t>(a)]));
                if (r1 != r2) uf.unite(r1, r2);
            }
    std::vector<std::uint32_t> root(static_cast<std::size_t>(g.n));
    for (std::int64_t v = 0; v < g.n; ++v) root[static_cast<std::size_t>(v)] = uf.find(static_cast<std::uint32_t>(v));
    return root;
}

/// Segment IDs 1.. in order of first voxel; components of one voxel are 0.
std::vector<std::uint32_t> segmentation(const Graph& g, const float* target, std::uint32_t* count_out = nullptr)
{
    const std::vector<std::uint32_t> root = components(g, [&](std::int64_t e) { return target[e] > 0.5f; });
    std::vector<std::uint32_t> members(static_cast<std::size_t>(g.n), 0), id(static_cast<std::size_t>(g.n), 0), seg(static_cast<std::size_t>(g.n), 0);
    for (const std::uint32_t r : root) ++members[r];
    std::uint32_t next = 0;
    for (std::size_t v = 0; v < root.size(); ++v) {
        const std::uint32_t r = root[v];
        if (members[r] < 2) continue;
        if (id[r] == 0) id[r] = ++next;
        seg[v] = id[r];
    }
    if (count_out) *count_out = next;
    return seg;
}

/// Sortable key of a float: ascending keys for ascending values.
std::uint32_t ascending_key(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/// Edges with value > low, by decreasing value and then increasing index (a stable LSD radix sort).
std::vector<std::uint32_t> sorted_edges(const Graph& g, const std::vector<float>& value, float low)
{
    std::vector<std::uint32_t> idx, key;
    for (int a = 0; a < 3; ++a)
        for (std::int64_t q = 0; q < g.n; ++q) {
            const std::int64_t e = a * g.n + q;
            if (g.exists(a, q) && value[static_cast<std::size_t>(e)] > low) {
                idx.push_back(static_cast<std::uint32_t>(e));
                key.push_back(~ascending_key(value[static_cast<std::size_t>(e)]));  // descending
            }
        }
    std::vector<std::uint32_t> idx2(idx.size()), key2(key.size());
    for (int shift = 0; shift < 32; shift += 8) {
        std::array<std::size_t, 257> start{};
        for (const std::uint32_t k : key) ++start[((k >> shift) & 0xFF) + 1];
        for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
        for (std::size_t i = 0; i < key.size(); ++i) {
            const std::size_t pos = start[(key[i] >> shift) & 0xFF]++;
            idx2[pos] = idx[i];
            key2[pos] = key[i];
        }
        idx.swap(idx2);
        key.swap(key2);
    }
    return idx;
}

/// Bag entry: a true segment and how many of its voxels a region holds.
struct Entry {
    std::uint32_t seg;
    std::uint32_t count;
};

/// Merger and splitter pair counts (or fractions) of one Kruskal pass, per edge.
struct PassWeights {
    std::vector<double> merger, splitter;
};

PassWeights kruskal(const Graph& g, const std::vector<float>& value, float low, const std::vector<std::uint32_t>& seg,
                    const std::vector<std::uint32_t>& seg_size, bool frac)
{
    const std::size_t E = static_cast<std::size_t>(3 * g.n);
    PassWeights w{std::vector<double>(E, 0.0), std::vector<double>(E, 0.0)};
    UnionFind uf(static_cast<std::size_t>(g.n));
    std::vector<std::vector<Entry>> bags(static_cast<std::size_t>(g.n));
    for (std::size_t v = 0; v < bags.size(); ++v)
        if (seg[v] > 0) bags[v].push_back({seg[v], 1});
    std::vector<Entry> merged;
    for (const std::uint32_t e : sorted_edges(g, value, low)) {
        const int a = static_cast<int>(e / g.n);
        const std::int64_t q = e % g.n;
        std::uint32_t r1 = uf.find(static_cast<std::uint32_t>(q)), r2 = uf.find(static_cast<std::uint32_t>(q - g.offset[static_cast<std::size_t>(a)]));
        if (r1 == r2) continue;
        const std::vector<Entry>&b1 = bags[r1], &b2 = bags[r2];
        // Pairs across the two regions: of one segment (same) and of two (diff); two-pointer merge of sorted bags.
        double same = 0, total1 = 0, total2 = 0;
        merged.clear();
        std::size_t i = 0, j = 0;
        auto share = [&](const Entry& x) { return frac ? double(x.count) / double(seg_size[x.seg]) : double(x.count); };
        while (i < b1.size() || j < b2.size()) {
            if (j == b2.size() || (i < b1.size() && b1[i].seg < b2[j].seg)) {
                total1 += share(b1[i]);
                merged.push_back(b1[i++]);
            } else if (i == b1.size() || b2[j].seg < b1[i].seg) {
                total2 += share(b2[j]);
                merged.push_back(b2[j++]);
            } else {
                const double s1 = share(b1[i]), s2 = share(b2[j]);
                same += s1 * s2;
                total1 += s1;
                total2 += s2;
                merged.push_back({b1[i].seg, b1[i].count + b2[j].count});
                ++i;
                ++j;
            }
        }
        w.splitter[e] = same;
        w.merger[e] = total1 * total2 - same;
        const std::uint32_t root = uf.unite(r1, r2);
        bags[root == r1 ? r2 : r1].clear();
        bags[root == r1 ? r2 : r1].shrink_to_fit();
        bags[root].swap(merged);
    }
    return w;
}

/// The weights of one unconstrained pass without the merger/splitter split: an edge joining regions
/// of a and b non-boundary voxels (or fractions, `frac`) weighs a·b.
std::vector<double> kruskal_totals(const Graph& g, const std::vector<float>& value, float low, const std::vector<std::uint32_t>& seg,
                                   const std::vector<std::uint32_t>& seg_size, bool frac)
{
    std::vector<double> w(static_cast<std::size_t>(3 * g.n), 0.0);
    UnionFind uf(static_cast<std::size_t>(g.n));
    std::vector<double> total(static_cast<std::size_t>(g.n), 0.0);
    for (std::size_t v = 0; v < total.size(); ++v)
        if (seg[v] > 0) total[v] = frac ? 1.0 / double(seg_size[seg[v]]) : 1.0;
    for (const std::uint32_t e : sorted_edges(g, value, low)) {
        const std::int64_t q = e % g.n;
        const std::uint32_t r1 = uf.find(static_cast<std::uint32_t>(q)),
                            r2 = uf.find(static_cast<std::uint32_t>(q - g.offset[static_cast<std::size_t>(e / g.n)]));
        if (r1 == r2) continue;
        w[e] = total[r1] * total[r2];
        const std::uint32_t root = uf.unite(r1, r2);
        total[root] = total[r1] + total[r2];
    }
    return w;
}

}  // namespace

double PairCounts::rand_error() const
{
    const std::uint64_t n = pairs();
    return n == 0 ? 0.0 : double(false_positive + false_negative) / double(n);
}

tensor::Tensor<std::uint32_t> true_segmentation(TensorView<const float> target)
{
    check_affinity_views(target, "target");
    const Graph g(target.size());
    const std::vector<std::uint32_t> seg = segmentation(g, target.data());
    tensor::Tensor<std::uint32_t> out(1, target.size(), core::Init::Uninitialized);
    std::copy(seg.begin(), seg.end(), out.data());
    return out;
}

PairCounts affinity_pair_counts(TensorView<const float> affinity, TensorView<const float> target)
{
    check_affinity_views(affinity, "affinity");
    check_affinity_views(target, "target");
    ZNN_CHECK(affinity.shape() == target.shape(), "MALIS: affinity and target shapes differ");
    const Graph g(affinity.size());
    std::uint32_t segments = 0;
    const std::vector<std::uint32_t> seg = segmentation(g, target.data(), &segments);
    const std::vector<std::uint32_t> comp = components(g, [&](std::int64_t e) { return affinity.data()[e] > 0.5f; });
    // Contingency of (segment, component) over non-boundary voxels: group voxels by component, then
    // count their segments with a scratch array.
    std::vector<std::uint32_t> by_comp_start(static_cast<std::size_t>(g.n) + 1, 0), order;
    std::vector<std::uint64_t> seg_size(segments + 1, 0);
    std::uint64_t N = 0;
    for (std::size_t v = 0; v < seg.size(); ++v)
        if (seg[v] > 0) {
            ++by_comp_start[comp[v] + 1];
            ++seg_size[seg[v]];
            ++N;
        }
    for (std::size_t c = 1; c < by_comp_start.size(); ++c) by_comp_start[c] += by_comp_start[c - 1];
    order.resize(N);
    {
        std::vector<std::uint32_t> fill(by_comp_start.begin(), by_comp_start.end() - 1);
        for (std::size_t v = 0; v < seg.size(); ++v)
            if (seg[v] > 0) order[fill[comp[v]]++] = static_cast<std::uint32_t>(v);
    }
    auto pairs = [](std::uint64_t k) { return k * (k - (k > 0 ? 1 : 0)) / 2; };
    std::uint64_t tp = 0, same_pred = 0, same_true = 0;
    for (std::size_t s = 1; s < seg_size.size(); ++s) same_true += pairs(seg_size[s]);
    std::vector<std::uint64_t> count(segments + 1, 0);
    std::vector<std::uint32_t> touched;
    for (std::size_t c = 0; c + 1 < by_comp_start.size(); ++c) {
        const std::uint32_t b = by_comp_start[c], e = by_comp_start[c + 1];
        if (b == e) continue;
        same_pred += pairs(e - b);
        touched.clear();
        for (std::uint32_t k = b; k < e; ++k) {
            const std::uint32_t s = seg[order[k]];
            if (count[s]++ == 0) touched.push_back(s);
        }
        for (const std::uint32_t s : touched) {
            tp += pairs(count[s]);
            count[s] = 0;
        }
    }
    PairCounts p;
    p.true_positive = tp;
    p.false_negative = same_true - tp;
    p.false_positive = same_pred - tp;
    p.true_negative = pairs(N) - tp - p.false_negative - p.false_positive;
    return p;
}

MalisResult malis_weights(TensorView<const float> affinity, TensorView<const float> target, TensorView<const float> mask,
                          const MalisOptions& options, core::ParallelFor& threads)
{
    check_affinity_views(affinity, "affinity");
    check_affinity_views(target, "target");
    ZNN_CHECK(affinity.shape() == target.shape(), "MALIS: affinity and target shapes differ");
    const bool masked = mask.data() != nullptr;
    if (masked) ZNN_CHECK(mask.shape() == affinity.shape() && mask.is_contiguous(), "MALIS: the mask has another shape");
    ZNN_CHECK(options.norm != config::MalisNorm::Constrain || options.constrained, "MALIS: norm 'constrain' means the constrained variant");
    const Graph g(affinity.size());
    const std::size_t E = static_cast<std::size_t>(3 * g.n);
    ZNN_CHECK(g.n < (std::int64_t(1) << 30), "MALIS: patch too large for 32-bit edge indices");

    MalisResult result;
    result.weights = tensor::Tensor<float>(3, affinity.size());
    std::uint32_t segments = 0;
    const std::vector<std::uint32_t> seg = segmentation(g, target.data(), &segments);
    std::vector<std::uint32_t> seg_size(segments + 1, 0);
    for (const std::uint32_t s : seg)
        if (s > 0) ++seg_size[s];
    const std::int64_t N = std::accumulate(seg_size.begin() + 1, seg_size.end(), std::int64_t(0));
    result.boundary_free = N;
    result.segments = segments;
    result.degenerate = N < 2;
    if (result.degenerate) return result;

    const float* aff = affinity.data();
    const float* t = target.data();
    const float* m = masked ? mask.data() : nullptr;
    auto unmasked = [&](std::size_t e) { return !m || m[e] > 0; };
    std::vector<float> clipped(E);
    for (std::size_t e = 0; e < E; ++e) clipped[e] = std::min(aff[e], options.high);

    std::vector<double> weight(E, 0.0);
    if (!options.constrained && !options.split_sums) {
        const std::vector<double> w = kruskal_totals(g, clipped, options.low, seg, seg_size, options.norm == config::MalisNorm::Frac);
        const double norm = options.norm == config::MalisNorm::Num    ? double(N)
                            : options.norm == config::MalisNorm::Pair ? double(N) * double(N - 1)
                                                                      : 1.0;
        for (std::size_t e = 0; e < E; ++e) weight[e] = w[e] / norm;
    } else if (!options.constrained) {
        const bool frac = options.norm == config::MalisNorm::Frac;
        const PassWeights w = kruskal(g, clipped, options.low, seg, seg_size, frac);
        const double norm = options.norm == config::MalisNorm::Num    ? double(N)
                            : options.norm == config::MalisNorm::Pair ? double(N) * double(N - 1)
                                                                      : 1.0;
        for (std::size_t e = 0; e < E; ++e) {
            result.merger += w.merger[e] / norm;
            result.splitter += w.splitter[e] / norm;
            weight[e] = (w.merger[e] + w.splitter[e]) / norm;
        }
    } else {
        // Merger pass: true edges at `high`; splitter pass: false edges at 0 (left out).
        std::vector<float> merger_value = clipped, splitter_value = clipped;
        for (std::size_t e = 0; e < E; ++e) {
            if (!unmasked(e)) continue;
            if (t[e] > 0.5f) merger_value[e] = options.high;
            else splitter_value[e] = 0.0f;
        }
        PassWeights passes[2];
        threads.run(2, 1, [&](std::int64_t begin, std::int64_t end, int) {
            for (std::int64_t k = begin; k < end; ++k)
                passes[k] = kruskal(g, k == 0 ? merger_value : splitter_value, options.low, seg, seg_size, false);
        });
        double same_pairs = 0;
        for (std::size_t s = 1; s < seg_size.size(); ++s) same_pairs += double(seg_size[s]) * double(seg_size[s] - 1) / 2;
        const double diff_pairs = double(N) * double(N - 1) / 2 - same_pairs;
        for (std::size_t e = 0; e < E; ++e) {
            const double mw = diff_pairs > 0 ? passes[0].merger[e] / diff_pairs : 0.0;
            const double sw = same_pairs > 0 ? passes[1].splitter[e] / same_pairs : 0.0;
            result.merger += mw;
            result.splitter += sw;
            weight[e] = mw + sw;
        }
    }
    float* out = result.weights.data();
    for (std::size_t e = 0; e < E; ++e) out[e] = unmasked(e) ? static_cast<float>(weight[e]) : 0.0f;
    return result;
}

tensor::Tensor<float> malis_weights_reference(TensorView<const float> affinity, TensorView<const float> target, const MalisOptions& options)
{
    check_affinity_views(affinity, "affinity");
    check_affinity_views(target, "target");
    ZNN_CHECK(!options.constrained && (options.norm == config::MalisNorm::None || options.norm == config::MalisNorm::Frac),
              "malis_weights_reference: unconstrained, norm none or frac only");
    const Graph g(affinity.size());
    const std::size_t E = static_cast<std::size_t>(3 * g.n);
    std::uint32_t segments = 0;
    const std::vector<std::uint32_t> seg = segmentation(g, target.data(), &segments);
    std::vector<double> seg_size(segments + 1, 0.0);
    for (const std::uint32_t v : seg) seg_size[v] += 1;
    std::vector<float> clipped(E);
    for (std::size_t e = 0; e < E; ++e) clipped[e] = std::min(affinity.data()[e], options.high);
    const std::vector<std::uint32_t> order = sorted_edges(g, clipped, options.low);
    tensor::Tensor<float> weights(3, affinity.size());
    std::vector<char> added(E, 0);
    std::vector<std::int64_t> component(static_cast<std::size_t>(g.n));
    std::vector<std::int64_t> stack;
    const bool frac = options.norm == config::MalisNorm::Frac;
    for (const std::uint32_t e : order) {
        // The components of the edges added so far, by flood fill.
        std::fill(component.begin(), component.end(), -1);
        for (std::int64_t v0 = 0; v0 < g.n; ++v0) {
            if (component[static_cast<std::size_t>(v0)] >= 0) continue;
            component[static_cast<std::size_t>(v0)] = v0;
            stack.assign(1, v0);
            while (!stack.empty()) {
                const std::int64_t v = stack.back();
                stack.pop_back();
                for (int a = 0; a < 3; ++a) {
                    const std::int64_t o = g.offset[static_cast<std::size_t>(a)];
                    // Edge (a, v) to v - o, and edge (a, v + o) to v.
                    if (added[static_cast<std::size_t>(a * g.n + v)] && component[static_cast<std::size_t>(v - o)] < 0) {
                        component[static_cast<std::size_t>(v - o)] = v0;
                        stack.push_back(v - o);
                    }
                    if (v + o < g.n && added[static_cast<std::size_t>(a * g.n + v + o)] && g.exists(a, v + o) &&
                        component[static_cast<std::size_t>(v + o)] < 0) {
                        component[static_cast<std::size_t>(v + o)] = v0;
                        stack.push_back(v + o);
                    }
                }
            }
        }
        const int a = static_cast<int>(e / g.n);
        const std::int64_t q = e % g.n, p = q - g.offset[static_cast<std::size_t>(a)];
        const std::int64_t ca = component[static_cast<std::size_t>(q)], cb = component[static_cast<std::size_t>(p)];
        added[e] = 1;
        if (ca == cb) continue;
        // Pairs (i in A, j in B) of non-boundary voxels, one by one per voxel of A against B's segment counts.
        std::vector<double> b_count(segments + 1, 0.0);
        for (std::int64_t v = 0; v < g.n; ++v)
            if (component[static_cast<std::size_t>(v)] == cb && seg[static_cast<std::size_t>(v)] > 0) b_count[seg[static_cast<std::size_t>(v)]] += 1;
        double b_total = 0;
        for (std::size_t k = 1; k < b_count.size(); ++k) b_total += frac ? b_count[k] / seg_size[k] : b_count[k];
        double w = 0;
        for (std::int64_t v = 0; v < g.n; ++v) {
            const std::uint32_t s = seg[static_cast<std::size_t>(v)];
            if (component[static_cast<std::size_t>(v)] != ca || s == 0) continue;
            const double share = frac ? 1 / seg_size[s] : 1.0;
            w += share * b_total;  // same + different pairs: every pair across counts once
        }
        weights.data()[e] = static_cast<float>(w);
    }
    return weights;
}

MalisMetrics malis_metrics(TensorView<const float> prob, TensorView<const float> target, TensorView<const float> weights)
{
    ZNN_CHECK(prob.shape() == target.shape() && weights.shape() == target.shape() && prob.is_contiguous() && target.is_contiguous() &&
                  weights.is_contiguous(),
              "malis_metrics: shapes differ");
    double sum_w = 0, cost = 0, errors = 0;
    for (std::int64_t i = 0; i < prob.count(); ++i) {
        const double w = weights.data()[i], p = std::clamp(double(prob.data()[i]), 1e-7, 1 - 1e-7), l = target.data()[i];
        sum_w += w;
        cost += w * -(l * std::log(p) + (1 - l) * std::log(1 - p));
        errors += w * (((prob.data()[i] > 0.5f) != (l > 0.5)) ? 1.0 : 0.0);
    }
    if (sum_w == 0) return {};
    return {cost / sum_w, errors / sum_w};
}

}  // namespace znn::train
