# Build provenance (version, git hash, compiler, flags) for `znn version`, logs, checkpoints and outputs.
# The git hash is read at build time, not configure time, so a commit without a re-configure is still
# reported correctly; the generated file is only rewritten when its content changes.

string(TOUPPER "${CMAKE_BUILD_TYPE}" _znn_bt)
set(ZNN_BUILD_FLAGS "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_znn_bt}}")
if(ZNN_ARCH)
    string(APPEND ZNN_BUILD_FLAGS " -march=${ZNN_ARCH}")
endif()
if(ZNN_SANITIZE)
    string(APPEND ZNN_BUILD_FLAGS " -fsanitize=${ZNN_SANITIZE}")
endif()
string(STRIP "${ZNN_BUILD_FLAGS}" ZNN_BUILD_FLAGS)

set(ZNN_BUILD_INFO_CPP "${CMAKE_BINARY_DIR}/generated/build_info_values.cpp")
add_custom_target(znn_build_info_gen
    COMMAND ${CMAKE_COMMAND}
        -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
        -DOUTPUT=${ZNN_BUILD_INFO_CPP}
        -DVERSION=${PROJECT_VERSION}
        -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
        "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
        "-DFLAGS=${ZNN_BUILD_FLAGS}"
        -P ${CMAKE_SOURCE_DIR}/tools/cmake/gen_build_info.cmake
    BYPRODUCTS ${ZNN_BUILD_INFO_CPP}
    COMMENT "Recording build information"
    VERBATIM)
