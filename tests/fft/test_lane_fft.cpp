// znn's batched SIMD transforms (fft::LaneFft) against FFTW's r2c/c2r on the same volumes: every
// lane count, pruned blocks, strided and reversed sources and targets. Compiled once per SIMD path;
// each path's tests run where the CPU runs it.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/fftw_oracle.hpp"
#include "support/simd_test.hpp"
#include "znn/core/aligned.hpp"
#include "znn/core/rng.hpp"
#include "znn/fft/lane_fft.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using core::Vec3i;
using fft::ZNN_SIMD_NS::LaneFft;
using fft::ZNN_SIMD_NS::LaneTarget;
using fft::ZNN_SIMD_NS::LaneVolume;
using test::cfloat;
using test::fftw_c2r;
using test::fftw_r2c;

namespace {

constexpr int kLanes = LaneFft::kLanes;

struct Case {
    Vec3i n;
    Vec3i block;
};

const Case kCases[] = {
    {{20, 20, 20}, {7, 7, 7}},  {{20, 16, 20}, {20, 16, 20}}, {{1, 14, 14}, {1, 5, 5}}, {{9, 11, 13}, {9, 11, 13}},
    {{18, 12, 10}, {3, 4, 5}},  {{6, 6, 1}, {6, 6, 1}},       {{1, 1, 8}, {1, 1, 3}},   {{28, 28, 28}, {14, 14, 14}},
    {{2, 3, 4}, {2, 3, 4}},     {{7, 25, 49}, {2, 3, 17}},   {{1, 1, 1}, {1, 1, 1}},   {{16, 32, 34}, {16, 32, 34}},
};

std::vector<float> random_volume(const Vec3i& n, const Vec3i& block, core::Rng& rng)
{
    std::vector<float> v(static_cast<std::size_t>(n.product()), 0.0f);
    for (std::int64_t z = 0; z < block.z; ++z)
        for (std::int64_t y = 0; y < block.y; ++y)
            for (std::int64_t x = 0; x < block.x; ++x)
                v[static_cast<std::size_t>((z * n.y + y) * n.x + x)] = rng.uniform_float() - 0.5f;
    return v;
}

}  // namespace

ZNN_SIMD_TEST(LaneFft, ForwardMatchesFftwForEveryLaneCountAndBlock)
{
    ZNN_SKIP_UNLESS_CPU_RUNS_THIS_PATH();
    core::Rng rng = core::Rng::stream(3, 0, core::RngPurpose::Test);
    for (const Case& c : kCases) {
        SCOPED_TRACE(core::to_string(c.n) + " block " + core::to_string(c.block));
        const LaneFft lanes(c.n);
        core::AlignedBuffer<float> work(static_cast<std::size_t>(lanes.work_floats()));
        for (int count : {kLanes, 3, 1}) {
            const float scale = count == 3 ? 0.25f : 1.0f;
            std::vector<std::vector<float>> volumes;
            // Lane 1 reads a copy with x stride 2 (as dilated inputs do); every other lane a plain array.
            std::vector<std::vector<float>> strided;
            std::vector<LaneVolume> src(static_cast<std::size_t>(count));
            for (int g = 0; g < count; ++g) {
                volumes.push_back(random_volume(c.n, c.block, rng));
                LaneVolume& s = src[static_cast<std::size_t>(g)];
                s.valid = c.block;
                if (g == 1) {
                    strided.emplace_back(volumes.back().size() * 2, 99.0f);
                    for (std::size_t i = 0; i < volumes.back().size(); ++i) strided.back()[2 * i] = volumes.back()[i];
                    s.base = strided.back().data();
                    s.stride = {2 * c.n.y * c.n.x, 2 * c.n.x, 2};
                } else {
                    s.base = volumes.back().data();
                    s.stride = {c.n.y * c.n.x, c.n.x, 1};
                }
            }
            // Spectra side by side per block, as in the engine, plus one spare slot no lane may touch.
            const std::int64_t stride = (count + 1) * LaneFft::kBlockFloats;
            core::AlignedBuffer<float> out(static_cast<std::size_t>(lanes.blocks() * stride), core::Init::Zero);
            std::vector<float*> dst;
            for (int g = 0; g < count; ++g) dst.push_back(out.data() + g * LaneFft::kBlockFloats);
            lanes.forward(src.data(), count, c.block, scale, dst.data(), stride, work.data());
            for (int g = 0; g < count; ++g) {
                const auto expected = fftw_r2c(volumes[static_cast<std::size_t>(g)], c.n);
                double largest = 1e-3;
                for (const auto& e : expected) largest = std::max(largest, double(std::abs(e)));
                for (std::int64_t f = 0; f < lanes.blocks() * kLanes; ++f) {
                    const float* b = dst[static_cast<std::size_t>(g)] + f / kLanes * stride;
                    const float re = b[f % kLanes], im = b[kLanes + f % kLanes];
                    const cfloat want = f < lanes.freqs() ? expected[static_cast<std::size_t>(f)] * scale : 0.0f;
                    ASSERT_NEAR(re, want.real(), 2e-6 * largest) << "lane " << g << " frequency " << f;
                    ASSERT_NEAR(im, want.imag(), 2e-6 * largest) << "lane " << g << " frequency " << f;
                }
            }
            for (std::int64_t b = 0; b < lanes.blocks(); ++b)
                for (int k = 0; k < LaneFft::kBlockFloats; ++k)
                    ASSERT_EQ(out[static_cast<std::size_t>(b * stride + count * LaneFft::kBlockFloats + k)], 0.0f) << "spare slot written";
        }
    }
}

ZNN_SIMD_TEST(LaneFft, InverseMatchesFftwOnTheKeptBlockAndAddsThroughAnyStrides)
{
    ZNN_SKIP_UNLESS_CPU_RUNS_THIS_PATH();
    core::Rng rng = core::Rng::stream(4, 0, core::RngPurpose::Test);
    for (const Case& c : kCases) {
        SCOPED_TRACE(core::to_string(c.n) + " block " + core::to_string(c.block));
        const LaneFft lanes(c.n);
        core::AlignedBuffer<float> work(static_cast<std::size_t>(lanes.work_floats()));
        for (int count : {kLanes, 5}) {
            const float scale = count == 5 ? 0.5f : 1.0f;
            const std::int64_t stride = count * LaneFft::kBlockFloats;  // spectra side by side per block
            core::AlignedBuffer<float> spectra(static_cast<std::size_t>(lanes.blocks() * stride), core::Init::Zero);
            std::vector<const float*> src;
            std::vector<std::vector<float>> expected;
            for (int g = 0; g < count; ++g) {
                const auto volume = random_volume(c.n, c.n, rng);
                const auto spectrum = fftw_r2c(volume, c.n);
                float* base = spectra.data() + g * LaneFft::kBlockFloats;
                for (std::int64_t f = 0; f < lanes.freqs(); ++f) {
                    base[f / kLanes * stride + f % kLanes] = spectrum[static_cast<std::size_t>(f)].real();
                    base[f / kLanes * stride + kLanes + f % kLanes] = spectrum[static_cast<std::size_t>(f)].imag();
                }
                src.push_back(base);
                expected.push_back(fftw_c2r(spectrum, c.n));
            }
            // Targets: lane 0 plain, lane 1 reversed on every axis and added to ones, lane 2 clipped in
            // y and x, every other lane plain and added to.
            const Vec3i m = c.block;
            std::vector<std::vector<float>> outputs;
            std::vector<LaneTarget> dst(static_cast<std::size_t>(count));
            for (int g = 0; g < count; ++g) {
                outputs.emplace_back(static_cast<std::size_t>(m.product()), g == 0 ? 0.0f : 1.0f);
                LaneTarget& t = dst[static_cast<std::size_t>(g)];
                t.base = outputs.back().data();
                t.stride = {m.y * m.x, m.x, 1};
                t.valid = m;
                t.add = g != 0 && g != 2;
                if (g == 1) {
                    t.base += m.product() - 1;
                    t.stride = {-m.y * m.x, -m.x, -1};
                }
                if (g == 2) t.valid = {m.z, (m.y + 1) / 2, (m.x + 1) / 2};
            }
            lanes.inverse(src.data(), stride, count, m, scale, dst.data(), work.data());
            for (int g = 0; g < count; ++g) {
                double largest = 1e-3;
                for (float v : expected[static_cast<std::size_t>(g)]) largest = std::max(largest, double(std::abs(v)));
                for (std::int64_t z = 0; z < m.z; ++z)
                    for (std::int64_t y = 0; y < m.y; ++y)
                        for (std::int64_t x = 0; x < m.x; ++x) {
                            const float v = expected[static_cast<std::size_t>(g)][static_cast<std::size_t>((z * c.n.y + y) * c.n.x + x)] * scale;
                            std::int64_t at = (z * m.y + y) * m.x + x;
                            float want = g == 0 ? v : 1.0f + v;
                            if (g == 1) at = m.product() - 1 - at;
                            if (g == 2) want = (y < (m.y + 1) / 2 && x < (m.x + 1) / 2) ? v : 1.0f;
                            ASSERT_NEAR(outputs[static_cast<std::size_t>(g)][static_cast<std::size_t>(at)], want, 2e-6 * largest + 1e-6)
                                << "lane " << g << " at " << z << "," << y << "," << x;
                        }
            }
        }
    }
}

ZNN_SIMD_TEST(LaneFft, PassesSplitOverThreadsGiveIdenticalResults)
{
    ZNN_SKIP_UNLESS_CPU_RUNS_THIS_PATH();
    sched::ThreadPool pool(3);
    core::Rng rng = core::Rng::stream(5, 0, core::RngPurpose::Test);
    for (const Case& c : kCases) {
        SCOPED_TRACE(core::to_string(c.n) + " block " + core::to_string(c.block));
        const LaneFft lanes(c.n);
        core::AlignedBuffer<float> serial_work(static_cast<std::size_t>(lanes.work_floats()));
        core::AlignedBuffer<float> shared_work(static_cast<std::size_t>(lanes.work_floats(pool.threads())));
        const int count = 7;
        std::vector<std::vector<float>> volumes;
        std::vector<LaneVolume> src(count);
        for (int g = 0; g < count; ++g) {
            volumes.push_back(random_volume(c.n, c.block, rng));
            src[static_cast<std::size_t>(g)] = {volumes.back().data(), {c.n.y * c.n.x, c.n.x, 1}, c.block};
        }
        const std::int64_t stride = count * LaneFft::kBlockFloats;
        core::AlignedBuffer<float> one(static_cast<std::size_t>(lanes.blocks() * stride)), many(one.size());
        std::vector<float*> dst_one, dst_many;
        for (int g = 0; g < count; ++g) {
            dst_one.push_back(one.data() + g * LaneFft::kBlockFloats);
            dst_many.push_back(many.data() + g * LaneFft::kBlockFloats);
        }
        lanes.forward(src.data(), count, c.block, 0.5f, dst_one.data(), stride, serial_work.data());
        lanes.forward(src.data(), count, c.block, 0.5f, dst_many.data(), stride, shared_work.data(), true, &pool);
        ASSERT_TRUE(std::equal(one.begin(), one.end(), many.begin()));

        std::vector<std::vector<float>> out_one, out_many;
        std::vector<LaneTarget> t_one(count), t_many(count);
        std::vector<const float*> spectra;
        for (int g = 0; g < count; ++g) {
            spectra.push_back(one.data() + g * LaneFft::kBlockFloats);
            out_one.emplace_back(static_cast<std::size_t>(c.block.product()), 1.0f);
            out_many.emplace_back(static_cast<std::size_t>(c.block.product()), 1.0f);
            const Vec3i st{c.block.y * c.block.x, c.block.x, 1};
            t_one[static_cast<std::size_t>(g)] = {out_one.back().data(), st, c.block, g % 2 == 1};
            t_many[static_cast<std::size_t>(g)] = {out_many.back().data(), st, c.block, g % 2 == 1};
        }
        lanes.inverse(spectra.data(), stride, count, c.block, 2.0f, t_one.data(), serial_work.data());
        lanes.inverse(spectra.data(), stride, count, c.block, 2.0f, t_many.data(), shared_work.data(), &pool);
        for (int g = 0; g < count; ++g) {
            ASSERT_EQ(out_one[static_cast<std::size_t>(g)], out_many[static_cast<std::size_t>(g)]) << "lane " << g;
            // forward then inverse (scale 0.5 · 2 / N) gives the volume back, plus 1 where added
            const double n = static_cast<double>(c.n.product());
            for (std::int64_t z = 0; z < c.block.z; ++z)
                for (std::int64_t y = 0; y < c.block.y; ++y)
                    for (std::int64_t x = 0; x < c.block.x; ++x) {
                        const float v = volumes[static_cast<std::size_t>(g)][static_cast<std::size_t>((z * c.n.y + y) * c.n.x + x)];
                        const float got = out_one[static_cast<std::size_t>(g)][static_cast<std::size_t>((z * c.block.y + y) * c.block.x + x)];
                        ASSERT_NEAR(got / n - (g % 2 == 1 ? 1.0 / n : 0.0), v, 1e-5) << "lane " << g;
                    }
        }
    }
}
