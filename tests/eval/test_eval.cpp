// Scores against a hand-worked table and against brute force over every pair of voxels; the same
// table split over ranks scores the same; connected components against a flood fill; stacks joined
// across their faces equal the whole volume labelled at once. Runs on 1 and 2 ranks.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <queue>
#include <random>

#include "znn/dist/comm.hpp"
#include "znn/eval/contingency.hpp"
#include "znn/eval/segment.hpp"

using namespace znn;
using eval::Contingency;
using eval::MapKind;
using eval::Scores;
using eval::Segmenter;

namespace {

Scores score_of(const std::vector<std::uint64_t>& gt, const std::vector<std::uint64_t>& seg)
{
    Contingency t;
    for (std::size_t v = 0; v < gt.size(); ++v) {
        if (gt[v] == 0)
            t.add_ignored(1);
        else
            t.add(gt[v], seg[v]);
    }
    return eval::score(t, dist::Comm::serial());
}

/// Rand precision and recall by counting every pair of scored voxels; VOI from the probabilities.
struct BruteForce {
    double precision, recall, split, merge;
};

BruteForce brute_force(const std::vector<std::uint64_t>& gt, const std::vector<std::uint64_t>& seg)
{
    double both = 0, in_seg = 0, in_gt = 0;
    std::vector<std::size_t> scored;
    for (std::size_t v = 0; v < gt.size(); ++v)
        if (gt[v] != 0) scored.push_back(v);
    for (std::size_t i = 0; i < scored.size(); ++i)
        for (std::size_t j = i + 1; j < scored.size(); ++j) {
            const bool same_gt = gt[scored[i]] == gt[scored[j]], same_seg = seg[scored[i]] == seg[scored[j]];
            both += same_gt && same_seg;
            in_seg += same_seg;
            in_gt += same_gt;
        }
    std::map<std::pair<std::uint64_t, std::uint64_t>, double> p;
    std::map<std::uint64_t, double> pg, ps;
    const double N = double(scored.size());
    for (std::size_t v : scored) {
        p[{gt[v], seg[v]}] += 1 / N;
        pg[gt[v]] += 1 / N;
        ps[seg[v]] += 1 / N;
    }
    double split = 0, merge = 0;
    for (const auto& [key, pij] : p) {
        split -= pij * std::log2(pij / pg[key.first]);
        merge -= pij * std::log2(pij / ps[key.second]);
    }
    return {both / in_seg, both / in_gt, split, merge};
}

}  // namespace

TEST(Scores, HandWorkedTable)
{
    // gt 1 1 1 2 2 / seg 1 1 2 2 2: n = {2, 1, 2}, a = {3, 2}, b = {2, 3}.
    const Scores s = score_of({1, 1, 1, 2, 2}, {1, 1, 2, 2, 2});
    EXPECT_EQ(s.voxels, 5);
    EXPECT_EQ(s.gt_segments, 2);
    EXPECT_EQ(s.segments, 2);
    EXPECT_DOUBLE_EQ(s.rand_precision, 4.0 / 8.0);  // pairs: (2+0+2) / (2+6)
    EXPECT_DOUBLE_EQ(s.rand_recall, 4.0 / 8.0);
    EXPECT_DOUBLE_EQ(s.rand_error, 0.5);
    EXPECT_DOUBLE_EQ(s.cremi_precision, 9.0 / 13.0);  // squares: (4+1+4) / (4+9)
    EXPECT_DOUBLE_EQ(s.cremi_recall, 9.0 / 13.0);
    EXPECT_NEAR(s.cremi_error, 4.0 / 13.0, 1e-15);
    const double h = (3 * std::log2(3.0) + 2 - 4) / 5;  // (Σ a log a − Σ n log n) / N
    EXPECT_NEAR(s.voi_split, h, 1e-15);
    EXPECT_NEAR(s.voi_merge, h, 1e-15);
}

TEST(Scores, PerfectAndIgnored)
{
    // Ground-truth 0 is not scored; the segmentation's label 0 is a segment (and CREMI's singletons).
    const Scores s = score_of({0, 0, 1, 1, 2, 2}, {5, 6, 3, 3, 4, 4});
    EXPECT_EQ(s.voxels, 4);
    EXPECT_EQ(s.ignored, 2);
    EXPECT_DOUBLE_EQ(s.rand_error, 0.0);
    EXPECT_DOUBLE_EQ(s.cremi_error, 0.0);
    EXPECT_DOUBLE_EQ(s.voi_split, 0.0);
    EXPECT_DOUBLE_EQ(s.voi_merge, 0.0);
    const Scores b = score_of({1, 1, 1, 1}, {0, 0, 0, 0});
    EXPECT_EQ(b.background, 4);
    EXPECT_EQ(b.segments, 0);
    EXPECT_DOUBLE_EQ(b.rand_error, 0.0);  // pair counts: one segment, label 0
    // CREMI: every 0 is its own segment: precision (0 + 4/4) / (0 + 4/4) = 1, recall 1 / 16.
    EXPECT_DOUBLE_EQ(b.cremi_recall, 1.0 / 16.0);
}

TEST(Scores, AgainstEveryPairOfVoxels)
{
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 20; ++trial) {
        const std::size_t n = 50 + rng() % 250;
        const std::uint64_t gl = 2 + rng() % 6, sl = 2 + rng() % 9;
        std::vector<std::uint64_t> gt(n), seg(n);
        for (std::size_t v = 0; v < n; ++v) {
            gt[v] = rng() % gl;
            seg[v] = rng() % 4 == 0 ? rng() % sl : gt[v] * 3 + 1;
        }
        const Scores s = score_of(gt, seg);
        const BruteForce b = brute_force(gt, seg);
        EXPECT_NEAR(s.rand_precision, b.precision, 1e-12) << trial;
        EXPECT_NEAR(s.rand_recall, b.recall, 1e-12) << trial;
        EXPECT_NEAR(s.rand_error, 1 - 2 * b.precision * b.recall / (b.precision + b.recall), 1e-12) << trial;
        EXPECT_NEAR(s.voi_split, b.split, 1e-12) << trial;
        EXPECT_NEAR(s.voi_merge, b.merge, 1e-12) << trial;
    }
}

TEST(Scores, SplitOverRanksScoresTheSame)
{
    const dist::Comm world = dist::Comm::world();
    std::mt19937_64 rng(11);
    Contingency whole, mine;
    for (int v = 0; v < 20000; ++v) {
        const std::uint64_t g = rng() % 40, s = (g * 7 + rng() % 3) % 60;
        Contingency& t = (v % world.size() == world.rank()) ? mine : whole;
        if (g == 0) {
            whole.add_ignored(1);
            if (&t == &mine) mine.add_ignored(1);
        } else {
            whole.add(g, s);
            if (&t == &mine) mine.add(g, s);
        }
    }
    const Scores a = eval::score(whole, dist::Comm::serial()), b = eval::score(mine, world);
    EXPECT_EQ(a.voxels, b.voxels);
    EXPECT_EQ(a.ignored, b.ignored);
    EXPECT_EQ(a.segments, b.segments);
    EXPECT_EQ(a.gt_segments, b.gt_segments);
    EXPECT_NEAR(a.rand_error, b.rand_error, 1e-13);
    EXPECT_NEAR(a.cremi_error, b.cremi_error, 1e-13);
    EXPECT_NEAR(a.voi_split, b.voi_split, 1e-12);
    EXPECT_NEAR(a.voi_merge, b.voi_merge, 1e-12);
}

namespace {

/// Flood fill: every component labelled 1 + its smallest voxel index (the labelling of segment.hpp).
std::vector<std::uint64_t> flood_fill(const tensor::Tensor<float>& map, const Segmenter& how)
{
    const core::Vec3i s = map.size();
    const std::int64_t plane = s.y * s.x, n = s.z * plane;
    const auto at = [&](std::int64_t c, std::int64_t v) { return map.data()[c * n + v]; };
    const auto inside = [&](std::int64_t v) {
        return how.kind == MapKind::Interior ? at(how.channel, v) > how.threshold : at(how.channel, v) < how.threshold;
    };
    // Neighbours of v joined to it.
    const auto neighbours = [&](std::int64_t v) {
        std::vector<std::int64_t> out;
        const std::int64_t z = v / plane, y = v / s.x % s.y, x = v % s.x;
        const std::int64_t step[3] = {1, s.x, plane};
        const std::int64_t pos[3] = {x, y, z}, len[3] = {s.x, s.y, s.z};
        for (int a = 0; a < 3; ++a) {
            if (a == 2 && how.planar) continue;
            if (how.kind == MapKind::Affinity) {
                if (pos[a] > 0 && at(a, v) > how.threshold) out.push_back(v - step[a]);
                if (pos[a] + 1 < len[a] && at(a, v + step[a]) > how.threshold) out.push_back(v + step[a]);
            } else if (inside(v)) {
                if (pos[a] > 0 && inside(v - step[a])) out.push_back(v - step[a]);
                if (pos[a] + 1 < len[a] && inside(v + step[a])) out.push_back(v + step[a]);
            }
        }
        return out;
    };
    std::vector<std::uint64_t> label(static_cast<std::size_t>(n), 0);
    for (std::int64_t v = 0; v < n; ++v) {
        if (label[std::size_t(v)] != 0) continue;
        const bool fg = how.kind == MapKind::Affinity ? !neighbours(v).empty() : inside(v);
        if (!fg) continue;
        std::queue<std::int64_t> q;
        q.push(v);
        label[std::size_t(v)] = std::uint64_t(v) + 1;
        while (!q.empty()) {
            const std::int64_t u = q.front();
            q.pop();
            for (std::int64_t w : neighbours(u))
                if (label[std::size_t(w)] == 0) {
                    label[std::size_t(w)] = std::uint64_t(v) + 1;
                    q.push(w);
                }
        }
    }
    return label;
}

tensor::Tensor<float> random_map(std::int64_t channels, core::Vec3i size, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    tensor::Tensor<float> m(channels, size);
    for (std::int64_t i = 0; i < m.shape().count(); ++i)
        m.data()[i] = u(rng);
    return m;
}

/// Labels `map` in stacks of `stack` sections, joined across faces as evaluate() does.
std::vector<std::uint64_t> by_stacks(const tensor::Tensor<float>& map, std::int64_t stack, const Segmenter& how)
{
    const core::Vec3i s = map.size();
    const std::int64_t plane = s.y * s.x;
    std::vector<std::uint64_t> all;
    std::vector<eval::LabelPair> pairs;
    for (std::int64_t z0 = 0; z0 < s.z; z0 += stack) {
        const std::int64_t n = std::min(stack, s.z - z0);
        const std::int64_t read = how.kind == MapKind::Affinity && z0 + n < s.z ? n + 1 : n;
        const auto part = map.view().box({{z0, 0, 0}, {read, s.y, s.x}});
        tensor::Tensor<float> copy(map.channels(), {read, s.y, s.x});
        for (std::int64_t c = 0; c < map.channels(); ++c)
            for (std::int64_t z = 0; z < read; ++z)
                for (std::int64_t y = 0; y < s.y; ++y)
                    std::copy_n(part.row(c, z, y), s.x, copy.view().row(c, z, y));
        const auto labels = eval::label_stack(copy.view(), n, std::uint64_t(z0 * plane), how);
        if (z0 > 0)
            eval::face_pairs(all.data() + (z0 - 1) * plane, labels.data(),
                             how.kind == MapKind::Affinity ? copy.view().row(2, 0, 0) : nullptr, plane, how, pairs);
        all.insert(all.end(), labels.data(), labels.data() + n * plane);
    }
    eval::Joins joins;
    for (const auto& p : pairs)
        joins.join(p.a, p.b);
    const auto rename = joins.renaming();
    for (std::uint64_t& l : all)
        if (const auto it = rename.find(l); it != rename.end()) l = it->second;
    return all;
}

}  // namespace

TEST(Segment, ComponentsEqualFloodFill)
{
    const core::Vec3i size{7, 9, 11};
    int cases = 0;
    for (MapKind kind : {MapKind::Interior, MapKind::Membrane, MapKind::Affinity})
        for (bool planar : {false, true})
            for (double threshold : {0.3, 0.5, 0.7}) {
                const Segmenter how{kind, kind == MapKind::Interior ? 1 : 0, threshold, planar};
                const auto map = random_map(kind == MapKind::Affinity ? 3 : 2, size, 100 + cases);
                const std::vector<std::uint64_t> expected = flood_fill(map, how);
                const auto whole = eval::label_stack(map.view(), size.z, 0, how);
                EXPECT_EQ(std::vector<std::uint64_t>(whole.data(), whole.data() + size.product()), expected)
                    << eval::to_string(kind) << " planar " << planar << " t " << threshold;
                for (std::int64_t stack : {1, 2, 3})
                    EXPECT_EQ(by_stacks(map, stack, how), expected)
                        << eval::to_string(kind) << " in stacks of " << stack << " planar " << planar;
                ++cases;
            }
    EXPECT_EQ(cases, 18);
}

TEST(Segment, JoinsPickTheSmallestLabel)
{
    eval::Joins j;
    j.join(9, 4);
    j.join(4, 7);
    j.join(12, 13);
    j.join(13, 7);
    auto r = j.renaming();
    EXPECT_EQ(r.size(), 4u);
    for (std::uint64_t l : {7, 9, 12, 13})
        EXPECT_EQ(r.at(l), 4u);
}
