// Machine anchors for benchmark ratios, measured in the same run as the benchmarks they anchor:
//   znn_anchors fma THREADS       peak single-precision FMA rate (GFLOP/s) with the widest vectors the
//                                 CPU has (AVX-512, else AVX2), 12 independent chains
//   znn_anchors triad THREADS     streaming bandwidth a[i] = b[i] + s·c[i] over 3×128 MiB (GB/s, 3 arrays)
// Each prints one JSON line: the median, min and max of 9 runs after a warm-up run.

#include <immintrin.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void pin_to_cpu(int index)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
    int seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (seen++ == index) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
            return;
        }
    }
}

/// Runs body(thread) on `threads` pinned threads started together; returns wall seconds.
template <class F>
double run_threads(int threads, F&& body)
{
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            pin_to_cpu(t);
            ready++;
            while (!go.load()) {
            }
            body(t);
        });
    while (ready.load() < threads) {
    }
    const auto start = Clock::now();
    go = true;
    for (auto& th : pool) th.join();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr int kChains = 12;
constexpr long kFmaIters = 50'000'000;

__attribute__((noinline)) float fma_chains(long iters, float seed)
{
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + 0.001f * static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.9999999f);
    const __m256 b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

/// The same with 512-bit vectors, compiled for AVX-512 and only called when the CPU has it.
__attribute__((noinline, target("avx512f"))) float fma_chains_512(long iters, float seed)
{
    __m512 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + 0.001f * static_cast<float>(i));
    const __m512 a = _mm512_set1_ps(0.9999999f);
    const __m512 b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

void report(const char* what, int threads, const char* unit, std::vector<double> values, double extra = 0)
{
    std::sort(values.begin(), values.end());
    std::printf("{\"anchor\":\"%s\",\"threads\":%d,\"unit\":\"%s\",\"median\":%.2f,\"min\":%.2f,\"max\":%.2f", what, threads,
                unit, values[values.size() / 2], values.front(), values.back());
    if (extra > 0) std::printf(",\"per_thread\":%.2f", extra);
    std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: znn_anchors fma|triad THREADS\n");
        return 2;
    }
    const std::string what = argv[1];
    const int threads = std::max(1, std::atoi(argv[2]));
    std::vector<double> rates;
    if (what == "fma") {
        // The widest vectors the CPU has: that is its FMA peak.
        const bool wide = __builtin_cpu_supports("avx512f");
        volatile float sink = 0;
        for (int run = 0; run < 10; ++run) {
            const double seconds = run_threads(threads, [&](int t) {
                sink = sink + (wide ? fma_chains_512(kFmaIters, 1.0f + static_cast<float>(t)) : fma_chains(kFmaIters, 1.0f + static_cast<float>(t)));
            });
            const double flops = 2.0 * (wide ? 16 : 8) * kChains * static_cast<double>(kFmaIters) * threads;
            if (run > 0) rates.push_back(flops / seconds / 1e9);
        }
        std::vector<double> sorted = rates;
        std::sort(sorted.begin(), sorted.end());
        report(wide ? "fma_peak_avx512" : "fma_peak_avx2", threads, "GFLOP/s", rates, sorted[sorted.size() / 2] / threads);
        return 0;
    }
    if (what == "triad") {
        const std::size_t n = (128u << 20) / sizeof(float);
        auto alloc = [&] { return static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))); };
        float *a = alloc(), *b = alloc(), *c = alloc();
        run_threads(threads, [&](int t) {  // first touch by the threads that will use the pages
            const std::size_t lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
            const std::size_t hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
            for (std::size_t i = lo; i < hi; ++i) a[i] = 0, b[i] = 1, c[i] = 2;
        });
        for (int run = 0; run < 10; ++run) {
            const double seconds = run_threads(threads, [&](int t) {
                const std::size_t lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
                const std::size_t hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
                for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] + 3.0f * c[i];
            });
            if (run > 0) rates.push_back(3.0 * static_cast<double>(n) * sizeof(float) / seconds / 1e9);
        }
        std::printf("%s", a[12345] == 7.0f ? "" : "");
        report("triad", threads, "GB/s", rates);
        std::free(a);
        std::free(b);
        std::free(c);
        return 0;
    }
    std::fprintf(stderr, "unknown anchor '%s' (fma, triad)\n", what.c_str());
    return 2;
}
