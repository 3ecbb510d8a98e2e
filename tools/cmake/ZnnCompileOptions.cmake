# Compiler flags shared by every znn target, collected on the interface target znn_compile_options.

add_library(znn_compile_options INTERFACE)
target_compile_features(znn_compile_options INTERFACE cxx_std_20)
target_compile_options(znn_compile_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
                              -Woverloaded-virtual -Wimplicit-fallthrough>)
# GCC 12 reports a false -Wrestrict inside libstdc++ for `"literal" + std::string&&` at -O2/-O3
# (GCC bug 105651, fixed in GCC 13); it says nothing about our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(znn_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
if(ZNN_WERROR)
    target_compile_options(znn_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
if(CMAKE_POSITION_INDEPENDENT_CODE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(znn_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fno-semantic-interposition>)
endif()
if(ZNN_ARCH)
    target_compile_options(znn_compile_options INTERFACE -march=${ZNN_ARCH})
endif()

if(ZNN_SANITIZE)
    string(REPLACE "," ";" _znn_sanitizers "${ZNN_SANITIZE}")
    foreach(_s IN LISTS _znn_sanitizers)
        if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
            message(FATAL_ERROR "ZNN_SANITIZE: unknown sanitizer '${_s}' (address, undefined, thread, leak)")
        endif()
    endforeach()
    # -fno-sanitize-recover makes every UBSan finding fail the test that triggered it.
    target_compile_options(znn_compile_options INTERFACE
        -fsanitize=${ZNN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
    target_link_options(znn_compile_options INTERFACE -fsanitize=${ZNN_SANITIZE})
endif()

# Fuzzing: every library instrumented for libFuzzer's coverage; the targets in tests/fuzz link its driver.
if(ZNN_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "ZNN_FUZZ needs clang (CC=clang CXX=clang++), not ${CMAKE_CXX_COMPILER_ID}")
    endif()
    target_compile_options(znn_compile_options INTERFACE -fsanitize=fuzzer-no-link)
    target_link_options(znn_compile_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
