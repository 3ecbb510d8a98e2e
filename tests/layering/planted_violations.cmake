# cmake -P script: the layering check must fail on a tree with planted violations and name each one.
#   cmake -DCHECKER=<check_layering.cmake> -DWORK=<scratch dir> -P planted_violations.cmake
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE "${WORK}")
file(WRITE "${WORK}/src/conv/up.cpp" "#include \"znn/graph/network.hpp\"\n")
file(WRITE "${WORK}/src/core/leak.cpp" "#include <hdf5.h>\n#include <vector>\n")
file(WRITE "${WORK}/include/znn/tensor/leak.hpp" "#include <mpi.h>\n")
file(WRITE "${WORK}/src/widget/w.cpp" "#include \"znn/core/error.hpp\"\n")
file(WRITE "${WORK}/src/io/tiff.cpp" "#include \"znn/dist/comm.hpp\"\n#include <tiffio.h>\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -DSOURCE_DIR=${WORK} -P "${CHECKER}" RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0)
    message(FATAL_ERROR "the layering check passed a tree with violations")
endif()
foreach(expected
        "src/conv/up.cpp: module 'conv' may not include znn/graph/"
        "src/core/leak.cpp: <hdf5.h> belongs in src/io/hdf5.cpp only"
        "include/znn/tensor/leak.hpp: <mpi.h> belongs in include/znn/dist/,src/dist/ only"
        "src/widget/w.cpp: module 'widget' is not in the table")
    string(FIND "${err}" "${expected}" at)
    if(at LESS 0)
        message(FATAL_ERROR "the layering check did not report: ${expected}\n${err}")
    endif()
endforeach()
foreach(unexpected "src/io/tiff.cpp" "<vector>")
    string(FIND "${err}" "${unexpected}" at)
    if(NOT at LESS 0)
        message(FATAL_ERROR "the layering check reported an allowed include (${unexpected}):\n${err}")
    endif()
endforeach()
message(STATUS "planted violations: all reported")
