#pragma once
// For tests compiled once per SIMD path (znn_simd_objects in tests/CMakeLists.txt): suite names that
// carry the path (LaneFft_avx2, LaneFft_avx512), the path itself, and a skip on a CPU that cannot
// run it (the AVX-512 tests of a binary on an AVX2-only machine).

#include <gtest/gtest.h>

#include "znn/core/simd_path.hpp"

#define ZNN_TEST_CAT2(a, b) a##b
#define ZNN_TEST_CAT(a, b) ZNN_TEST_CAT2(a, b)
#define ZNN_TEST_STR2(a) #a
#define ZNN_TEST_STR(a) ZNN_TEST_STR2(a)
#define ZNN_SIMD_TEST_(suite, name) TEST(suite, name)
/// TEST(<suite>_<path>, name), run only where this CPU runs the path.
#define ZNN_SIMD_TEST(suite, name) ZNN_SIMD_TEST_(ZNN_TEST_CAT(suite, ZNN_TEST_CAT(_, ZNN_SIMD_NS)), name)

namespace znn::test {

/// The path this file is compiled for.
inline core::SimdPath compiled_simd_path() { return *core::parse_simd_path(ZNN_TEST_STR(ZNN_SIMD_NS)); }

}  // namespace znn::test

/// Skips the test when this CPU cannot run the path the file is compiled for.
#define ZNN_SKIP_UNLESS_CPU_RUNS_THIS_PATH()                                                                    \
    do {                                                                                                       \
        if (!znn::core::cpu_runs(znn::test::compiled_simd_path()))                                             \
            GTEST_SKIP() << "this CPU does not run the " << ZNN_TEST_STR(ZNN_SIMD_NS) << " kernels";           \
    } while (0)
