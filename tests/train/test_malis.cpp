// MALIS weights and the rand error against a brute force over every voxel pair: widest paths by
// Floyd–Warshall under the same total order of edges (value, then index), so ties are covered.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "znn/core/rng.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/malis.hpp"

using namespace znn;
using namespace znn::train;
using core::Vec3i;
using tensor::Tensor;

namespace {

/// An affinity graph by brute force: edges, their ranks, and the bottleneck edge of every pair.
struct BruteForce {
    Vec3i size;
    std::int64_t n;
    std::vector<std::int64_t> edge_a, edge_b, edge_id;  // endpoints and a·n + q
    std::vector<int> bottleneck;                        // n·n: index into the edge list, -1: not connected

    /// Edges kept: value > low; ordered by decreasing value, then increasing index.
    BruteForce(Vec3i s, const std::vector<float>& value, float low) : size(s), n(s.product()), bottleneck(static_cast<std::size_t>(n * n), -1)
    {
        std::vector<std::pair<float, std::int64_t>> order;
        for (int a = 0; a < 3; ++a)
            for (std::int64_t z = 0; z < s.z; ++z)
                for (std::int64_t y = 0; y < s.y; ++y)
                    for (std::int64_t x = 0; x < s.x; ++x) {
                        const Vec3i p{z, y, x};
                        if ((a == 0 ? x : a == 1 ? y : z) == 0) continue;
                        const std::int64_t q = (z * s.y + y) * s.x + x, e = a * n + q;
                        if (value[static_cast<std::size_t>(e)] > low) order.push_back({value[static_cast<std::size_t>(e)], e});
                    }
        std::sort(order.begin(), order.end(), [](const auto& l, const auto& r) { return l.first != r.first ? l.first > r.first : l.second < r.second; });
        // rank[i][j]: the best (smallest) over paths of the worst (largest) rank on the path.
        const int none = std::numeric_limits<int>::max();
        std::vector<int> rank(static_cast<std::size_t>(n * n), none);
        for (std::size_t k = 0; k < order.size(); ++k) {
            const std::int64_t e = order[k].second, a = e / n, q = e % n;
            const std::int64_t p = q - (a == 0 ? 1 : a == 1 ? s.x : s.x * s.y);
            edge_a.push_back(q);
            edge_b.push_back(p);
            edge_id.push_back(e);
            rank[static_cast<std::size_t>(q * n + p)] = rank[static_cast<std::size_t>(p * n + q)] = static_cast<int>(k);
        }
        for (std::int64_t k = 0; k < n; ++k)
            for (std::int64_t i = 0; i < n; ++i)
                for (std::int64_t j = 0; j < n; ++j) {
                    const int via = std::max(rank[static_cast<std::size_t>(i * n + k)], rank[static_cast<std::size_t>(k * n + j)]);
                    int& r = rank[static_cast<std::size_t>(i * n + j)];
                    if (via < r) r = via;
                }
        for (std::size_t i = 0; i < rank.size(); ++i) bottleneck[i] = rank[i] == none ? -1 : rank[i];
    }
};

/// Targets from a label volume: affinity along a at q is (id(q) == id(q - e_a)) and id > 0.
Tensor<float> targets_of(Vec3i s, const std::vector<std::uint32_t>& id)
{
    Tensor<float> t(3, s);
    const std::int64_t n = s.product();
    for (int a = 0; a < 3; ++a)
        for (std::int64_t z = 0; z < s.z; ++z)
            for (std::int64_t y = 0; y < s.y; ++y)
                for (std::int64_t x = 0; x < s.x; ++x) {
                    if ((a == 0 ? x : a == 1 ? y : z) == 0) continue;
                    const std::int64_t q = (z * s.y + y) * s.x + x, p = q - (a == 0 ? 1 : a == 1 ? s.x : s.x * s.y);
                    t.data()[a * n + q] = id[static_cast<std::size_t>(q)] == id[static_cast<std::size_t>(p)] && id[static_cast<std::size_t>(q)] > 0;
                }
    return t;
}

/// A random labelling with a few segments and some boundary, and predictions on a coarse grid of
/// values so that many edges tie.
struct Case {
    Vec3i size;
    Tensor<float> affinity, target;
};

Case random_case(std::uint64_t seed, Vec3i s)
{
    core::Rng rng(seed);
    std::vector<std::uint32_t> id(static_cast<std::size_t>(s.product()));
    for (auto& v : id) v = static_cast<std::uint32_t>(rng.uniform_int(0, 3));
    Case c{s, Tensor<float>(3, s), targets_of(s, id)};
    for (std::int64_t i = 0; i < c.affinity.count(); ++i) c.affinity.data()[i] = float(rng.uniform_int(0, 4)) * 0.25f;  // 0 .. 1, ties
    return c;
}

/// The segmentation of the targets by brute force: flood fill over true edges, singletons 0.
std::vector<std::uint32_t> brute_segments(const Case& c)
{
    const std::int64_t n = c.size.product();
    std::vector<float> target(c.target.data(), c.target.data() + c.target.count());
    const BruteForce joined(c.size, target, 0.5f);
    std::vector<std::uint32_t> seg(static_cast<std::size_t>(n), 0);
    std::uint32_t next = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        if (seg[static_cast<std::size_t>(i)]) continue;
        std::vector<std::int64_t> members;
        for (std::int64_t j = 0; j < n; ++j)
            if (j == i || joined.bottleneck[static_cast<std::size_t>(i * n + j)] >= 0) members.push_back(j);
        if (members.size() < 2) continue;
        ++next;
        for (const auto j : members) seg[static_cast<std::size_t>(j)] = next;
    }
    return seg;
}

struct Expected {
    std::vector<double> merger, splitter;
    PairCounts pairs;
};

/// Merger and splitter counts per edge (and pair counts at 0.5) by brute force over every pair.
Expected brute_weights(const Case& c, const std::vector<float>& value, bool frac)
{
    const std::int64_t n = c.size.product();
    const std::vector<std::uint32_t> seg = brute_segments(c);
    std::map<std::uint32_t, double> seg_size;
    for (const auto s : seg)
        if (s) seg_size[s] += 1;
    const BruteForce g(c.size, value, 0.0f);
    Expected x{std::vector<double>(static_cast<std::size_t>(3 * n), 0), std::vector<double>(static_cast<std::size_t>(3 * n), 0), {}};
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j) {
            const auto si = seg[static_cast<std::size_t>(i)], sj = seg[static_cast<std::size_t>(j)];
            if (!si || !sj) continue;
            const int b = g.bottleneck[static_cast<std::size_t>(i * n + j)];
            const bool joined = b >= 0 && value[static_cast<std::size_t>(g.edge_id[static_cast<std::size_t>(b)])] > 0.5f;
            if (si == sj) (joined ? x.pairs.true_positive : x.pairs.false_negative) += 1;
            else (joined ? x.pairs.false_positive : x.pairs.true_negative) += 1;
            if (b < 0) continue;
            const double w = frac ? 1.0 / (seg_size[si] * seg_size[sj]) : 1.0;
            (si == sj ? x.splitter : x.merger)[static_cast<std::size_t>(g.edge_id[static_cast<std::size_t>(b)])] += w;
        }
    return x;
}

std::vector<float> values_of(const Tensor<float>& t) { return {t.data(), t.data() + t.count()}; }

}  // namespace

TEST(Malis, TheTrueSegmentationIsTheComponentsOfTrueEdgesWithoutSingletons)
{
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const Case c = random_case(seed, {2, 4, 5});
        const auto seg = true_segmentation(c.target.cview());
        const auto expected = brute_segments(c);
        ASSERT_TRUE(std::equal(expected.begin(), expected.end(), seg.data())) << seed;
    }
}

TEST(Malis, WeightsEqualTheBruteForcePairCountsTiesIncluded)
{
    sched::ThreadPool pool(2);
    int nonzero = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        const Vec3i s = seed % 3 == 0 ? Vec3i{1, 5, 6} : seed % 3 == 1 ? Vec3i{3, 3, 4} : Vec3i{2, 4, 3};
        const Case c = random_case(seed, s);
        const std::int64_t n = s.product();
        const std::vector<float> value = values_of(c.affinity);
        for (const auto norm : {config::MalisNorm::None, config::MalisNorm::Num, config::MalisNorm::Pair, config::MalisNorm::Frac}) {
            const MalisResult r = malis_weights(c.affinity.cview(), c.target.cview(), {}, {.norm = norm, .split_sums = true}, pool);
            const MalisResult fast = malis_weights(c.affinity.cview(), c.target.cview(), {}, {.norm = norm}, pool);
            const Expected x = brute_weights(c, value, norm == config::MalisNorm::Frac);
            const double N = double(r.boundary_free);
            const double scale = norm == config::MalisNorm::Num ? N : norm == config::MalisNorm::Pair ? N * (N - 1) : 1.0;
            double merger = 0, splitter = 0;
            for (std::int64_t e = 0; e < 3 * n; ++e) {
                const double w = (x.merger[static_cast<std::size_t>(e)] + x.splitter[static_cast<std::size_t>(e)]) / scale;
                ASSERT_NEAR(r.weights.data()[e], w, 1e-6 * std::max(1.0, w)) << "seed " << seed << " norm " << int(norm) << " edge " << e;
                ASSERT_NEAR(fast.weights.data()[e], w, 1e-6 * std::max(1.0, w)) << "without the split, seed " << seed << " edge " << e;
                merger += x.merger[static_cast<std::size_t>(e)] / scale;
                splitter += x.splitter[static_cast<std::size_t>(e)] / scale;
                nonzero += w > 0;
            }
            EXPECT_NEAR(r.merger, merger, 1e-9 * std::max(1.0, merger));
            EXPECT_NEAR(r.splitter, splitter, 1e-9 * std::max(1.0, splitter));
        }
        // The rand error's pair counts: the brute force's, and the four add up to all pairs.
        const PairCounts p = affinity_pair_counts(c.affinity.cview(), c.target.cview());
        const Expected x = brute_weights(c, value, false);
        EXPECT_EQ(p.true_positive, x.pairs.true_positive) << seed;
        EXPECT_EQ(p.false_negative, x.pairs.false_negative) << seed;
        EXPECT_EQ(p.false_positive, x.pairs.false_positive) << seed;
        EXPECT_EQ(p.true_negative, x.pairs.true_negative) << seed;
    }
    EXPECT_GT(nonzero, 100);
}

TEST(Malis, ConstrainedPassesAreNormalisedByTheirPairTotals)
{
    sched::ThreadPool pool(2);
    for (std::uint64_t seed = 20; seed < 26; ++seed) {
        const Case c = random_case(seed, {2, 3, 5});
        const std::int64_t n = c.size.product();
        std::vector<float> merger_value = values_of(c.affinity), splitter_value = merger_value;
        for (std::int64_t e = 0; e < 3 * n; ++e) {
            if (c.target.data()[e] > 0.5f) merger_value[static_cast<std::size_t>(e)] = 1.0f;
            else splitter_value[static_cast<std::size_t>(e)] = 0.0f;
        }
        const Expected m = brute_weights(c, merger_value, false), s = brute_weights(c, splitter_value, false);
        const double negatives = double(m.pairs.true_negative + m.pairs.false_positive), positives = double(m.pairs.true_positive + m.pairs.false_negative);
        const MalisResult r = malis_weights(c.affinity.cview(), c.target.cview(), {}, {.constrained = true}, pool);
        double merger_sum = 0, splitter_sum = 0;
        for (std::int64_t e = 0; e < 3 * n; ++e) {
            const double w = (negatives > 0 ? m.merger[static_cast<std::size_t>(e)] / negatives : 0) +
                             (positives > 0 ? s.splitter[static_cast<std::size_t>(e)] / positives : 0);
            ASSERT_NEAR(r.weights.data()[e], w, 1e-6) << seed << " edge " << e;
            merger_sum += negatives > 0 ? m.merger[static_cast<std::size_t>(e)] / negatives : 0;
            splitter_sum += positives > 0 ? s.splitter[static_cast<std::size_t>(e)] / positives : 0;
        }
        // Each pair is counted at most once per pass: a pass sums to at most 1.
        EXPECT_NEAR(r.merger, merger_sum, 1e-9);
        EXPECT_NEAR(r.splitter, splitter_sum, 1e-9);
        EXPECT_LE(r.splitter, 1 + 1e-9);
        EXPECT_LE(r.merger, 1 + 1e-9);
    }
}

TEST(Malis, MaskedEdgesGetNoWeightAndDegeneratePatchesNone)
{
    sched::ThreadPool pool(1);
    const Case c = random_case(7, {2, 4, 4});
    Tensor<float> mask(3, c.size);
    core::Rng rng(2);
    for (std::int64_t i = 0; i < mask.count(); ++i) mask.data()[i] = rng.bernoulli(0.7) ? 1.0f : 0.0f;
    const MalisResult plain = malis_weights(c.affinity.cview(), c.target.cview(), {}, {}, pool);
    const MalisResult masked = malis_weights(c.affinity.cview(), c.target.cview(), mask.cview(), {}, pool);
    for (std::int64_t i = 0; i < mask.count(); ++i) EXPECT_EQ(masked.weights.data()[i], mask.data()[i] > 0 ? plain.weights.data()[i] : 0.0f) << i;
    // All boundary (no true edges) or one voxel of one segment: nothing to learn from.
    Tensor<float> none(3, c.size);
    const MalisResult d = malis_weights(c.affinity.cview(), none.cview(), {}, {}, pool);
    EXPECT_TRUE(d.degenerate);
    EXPECT_EQ(d.boundary_free, 0);
    for (std::int64_t i = 0; i < d.weights.count(); ++i) ASSERT_EQ(d.weights.data()[i], 0.0f);
}

TEST(Malis, PairCountsAreSixtyFourBit)
{
    // Two halves of 1x320x160 voxels each (51 200), joined by one weak edge: 51 200² = 2 621 440 000
    // pairs of different segments, more than a 32-bit counter holds.
    sched::ThreadPool pool(2);
    const Vec3i s{1, 320, 320};
    std::vector<std::uint32_t> id(static_cast<std::size_t>(s.product()));
    for (std::int64_t y = 0; y < s.y; ++y)
        for (std::int64_t x = 0; x < s.x; ++x) id[static_cast<std::size_t>(y * s.x + x)] = x < 160 ? 1 : 2;
    const Tensor<float> target = targets_of(s, id);
    Tensor<float> affinity(3, s);
    const std::int64_t n = s.product();
    for (std::int64_t i = 0; i < affinity.count(); ++i) affinity.data()[i] = 0.9f;
    for (std::int64_t y = 0; y < s.y; ++y) affinity.data()[0 * n + y * s.x + 160] = 0.0f;  // the x edges across, left out
    affinity.data()[0 * n + 7 * s.x + 160] = 0.2f;                                        // but one
    const MalisResult r = malis_weights(affinity.cview(), target.cview(), {}, {.split_sums = true}, pool);
    EXPECT_EQ(r.boundary_free, n);
    EXPECT_EQ(r.weights.data()[0 * n + 7 * s.x + 160], 2621440000.0f);
    EXPECT_EQ(r.merger, 2621440000.0);
    const PairCounts p = affinity_pair_counts(affinity.cview(), target.cview());
    EXPECT_EQ(p.true_negative, 2621440000ull);
    EXPECT_EQ(p.pairs(), std::uint64_t(n) * std::uint64_t(n - 1) / 2);
    EXPECT_EQ(p.rand_error(), 0.0);
}

TEST(Malis, WeightedMetrics)
{
    Tensor<float> prob(3, {1, 1, 2}), target(3, {1, 1, 2}), w(3, {1, 1, 2});
    const float pv[] = {0.9f, 0.2f, 0.6f, 0.6f, 0.1f, 0.5f}, tv[] = {1, 0, 0, 1, 0, 1}, wv[] = {1, 0, 3, 0, 0, 0};
    std::copy(pv, pv + 6, prob.data());
    std::copy(tv, tv + 6, target.data());
    std::copy(wv, wv + 6, w.data());
    const MalisMetrics m = malis_metrics(prob.cview(), target.cview(), w.cview());
    EXPECT_NEAR(m.weighted_error, 3.0 / 4, 1e-12);
    EXPECT_NEAR(m.weighted_cost, (-std::log(0.9) - 3 * std::log(0.4)) / 4, 1e-6);
}

TEST(Malis, TheReferenceImplementationAgrees)
{
    // The brute-force baseline of the benchmarks gives the same weights (none and frac).
    sched::ThreadPool pool(1);
    for (std::uint64_t seed = 40; seed < 44; ++seed) {
        const Case c = random_case(seed, {3, 5, 4});
        for (const auto norm : {config::MalisNorm::None, config::MalisNorm::Frac}) {
            const MalisResult fast = malis_weights(c.affinity.cview(), c.target.cview(), {}, {.norm = norm}, pool);
            const Tensor<float> slow = malis_weights_reference(c.affinity.cview(), c.target.cview(), {.norm = norm});
            for (std::int64_t i = 0; i < slow.count(); ++i) ASSERT_NEAR(fast.weights.data()[i], slow.data()[i], 1e-5) << seed << " " << i;
        }
    }
}
