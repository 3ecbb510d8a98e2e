# Per-path compilation: the kernels that gain from wider vectors are compiled once per SIMD path and
# chosen at run time (include/znn/core/simd_path.hpp). A per-path file puts its code between
# include/znn/core/simd_begin.hpp and simd_end.hpp, in namespace ZNN_SIMD_NS of its module.
#
#   path     ZNN_SIMD_NS  ZNN_SIMD_WIDTH  instructions inside the region
#   avx2     avx2         8               AVX2, FMA
#   avx512   avx512       16              AVX2, FMA, AVX-512 F/DQ/BW/VL
set(ZNN_SIMD_PATHS avx2 avx512)
set(ZNN_SIMD_WIDTH_avx2 8)
set(ZNN_SIMD_WIDTH_avx512 16)

# znn_simd_objects(<target> <prefix> SOURCES ... LIBS ...): compiles SOURCES once per path into object
# libraries <prefix>_<path> (with the usage requirements of LIBS) and adds their objects to <target>.
function(znn_simd_objects target prefix)
    cmake_parse_arguments(S "" "" "SOURCES;LIBS" ${ARGN})
    foreach(path IN LISTS ZNN_SIMD_PATHS)
        add_library(${prefix}_${path} OBJECT ${S_SOURCES})
        target_link_libraries(${prefix}_${path} PRIVATE znn_compile_options ${S_LIBS})
        target_compile_definitions(${prefix}_${path} PRIVATE ZNN_SIMD_NS=${path} ZNN_SIMD_WIDTH=${ZNN_SIMD_WIDTH_${path}})
        target_sources(${target} PRIVATE $<TARGET_OBJECTS:${prefix}_${path}>)
    endforeach()
endfunction()
