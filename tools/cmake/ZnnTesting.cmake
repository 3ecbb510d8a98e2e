# Test registration: one GoogleTest binary per module, run by CTest at one or more MPI rank counts.
#
#   znn_add_test(NAME io_tests SOURCES a.cpp b.cpp LIBS znn_io RANKS 1 2 LABELS io mpi)
#
# RANKS 1 runs the binary directly (an MPI singleton, no launcher). RANKS N > 1 runs it under mpiexec
# through tests/support/run_mpi_test.sh, which fails unless all N ranks ran and passed.

set(ZNN_TEST_ENV
    "OMPI_ALLOW_RUN_AS_ROOT=1"
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    "OMPI_MCA_btl=self,vader"
    "OMPI_MCA_rmaps_base_oversubscribe=1"
    "GTEST_COLOR=no")
if(ZNN_SANITIZE MATCHES "address|leak")
    # Open MPI and its helpers keep allocations until exit; our own leaks are still reported.
    list(APPEND ZNN_TEST_ENV "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/support/lsan.supp:print_suppressions=0"
                             "ASAN_OPTIONS=detect_stack_use_after_return=1:strict_string_checks=1:fast_unwind_on_malloc=0")
endif()
if(ZNN_SANITIZE MATCHES "undefined")
    list(APPEND ZNN_TEST_ENV "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
if(ZNN_SANITIZE MATCHES "thread")
    list(APPEND ZNN_TEST_ENV "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/support/tsan.supp:halt_on_error=1")
endif()

add_library(znn_test_main OBJECT ${PROJECT_SOURCE_DIR}/tests/support/mpi_test_main.cpp)
target_link_libraries(znn_test_main PUBLIC znn_dist GTest::gtest)

function(znn_add_test)
    cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;RANKS;LABELS" ${ARGN})
    if(NOT T_RANKS)
        set(T_RANKS 1)
    endif()
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    add_executable(${T_NAME} ${T_SOURCES})
    target_link_libraries(${T_NAME} PRIVATE znn_test_main ${T_LIBS} GTest::gtest znn_compile_options)
    target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    foreach(n IN LISTS T_RANKS)
        set(test_name ${T_NAME}_np${n})
        if(n EQUAL 1)
            add_test(NAME ${test_name} COMMAND $<TARGET_FILE:${T_NAME}> --gtest_shuffle --expect-ranks=1)
        else()
            add_test(NAME ${test_name}
                     COMMAND ${PROJECT_SOURCE_DIR}/tests/support/run_mpi_test.sh ${MPIEXEC_EXECUTABLE} ${n}
                             $<TARGET_FILE:${T_NAME}> --gtest_shuffle)
        endif()
        set_tests_properties(${test_name} PROPERTIES
            PROCESSORS ${n} TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}" ENVIRONMENT "${ZNN_TEST_ENV}")
    endforeach()
endfunction()
