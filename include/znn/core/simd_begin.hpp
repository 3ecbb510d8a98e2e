// Opens a region of code compiled for one SIMD path (no include guard: it is included once per
// region, and regions nest). Code between simd_begin.hpp and simd_end.hpp gets the path's target
// instructions; everything included before the region keeps the build's baseline, so no inline
// function or template that other files also use is ever compiled for the wider path (the linker
// keeps one copy of those, and an AVX-512 copy would end up running on AVX2 machines).
//
// The rules for a file compiled per path (znn_add_module's SIMD_SOURCES):
//  - include every header that is not per-path first, then this one;
//  - put the code in namespace ZNN_SIMD_NS (avx2 or avx512) of its module's namespace;
//  - include simd_end.hpp at the end;
//  - give a type that holds vectors alignas(sizeof(vector)): GCC aligns a vector type by the target in
//    effect where it is used, so code outside the region (std::allocator) sees a 64-byte AVX-512
//    vector as 32-byte aligned.
// ZNN_SIMD_NS and ZNN_SIMD_WIDTH (floats per vector: 8 or 16) come from the build.

#if !defined(ZNN_SIMD_NS) || !defined(ZNN_SIMD_WIDTH)
#error "a per-path file: compile it through znn_add_module(... SIMD_SOURCES ...) (src/CMakeLists.txt)"
#endif

#if defined(__clang__)
#if ZNN_SIMD_WIDTH == 16
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512dq,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif
#elif defined(__GNUC__)
#pragma GCC push_options
#if ZNN_SIMD_WIDTH == 16
#pragma GCC target("avx2,fma,avx512f,avx512dq,avx512bw,avx512vl")
#else
// (Not "no-avx512f": in a -march=native build on an AVX-512 machine the intrinsics are declared for
// the whole native set, and a region without AVX-512 could not inline them. Such a binary is for its
// build machine anyway, and the AVX2 path there may use AVX-512 instructions the compiler picks.)
#pragma GCC target("avx2,fma")
#endif
#endif
