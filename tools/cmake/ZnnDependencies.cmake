# Finds every third-party dependency and exposes it as an imported or interface target.
# Debian 12 package names are given in each message so a failed configure says what to install
# (tools/install-deps installs all of them).

find_package(Threads REQUIRED)

# ---- MPI (Open MPI) -------------------------------------------------------------------------------
set(MPI_CXX_SKIP_MPICXX ON)   # the deprecated C++ bindings are not used
find_package(MPI COMPONENTS C CXX)
if(NOT MPI_FOUND)
    message(FATAL_ERROR "MPI not found: apt-get install libopenmpi-dev openmpi-bin")
endif()
# The C API only: mpi.h would otherwise drag in the deprecated C++ bindings when included from C++.
add_library(znn_mpi INTERFACE)
target_link_libraries(znn_mpi INTERFACE MPI::MPI_C)
target_compile_definitions(znn_mpi INTERFACE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)

# ---- FFTW3 single precision: the tests' oracle for znn's own transforms (znn itself does not link it) ----
find_package(PkgConfig REQUIRED)
if(ZNN_BUILD_TESTS)
    pkg_check_modules(FFTW3F IMPORTED_TARGET fftw3f)
    if(NOT FFTW3F_FOUND)
        message(FATAL_ERROR "FFTW3 (single precision; the tests' oracle) not found: apt-get install libfftw3-dev")
    endif()
endif()

# ---- HDF5, parallel build only ---------------------------------------------------------------------
set(HDF5_PREFER_PARALLEL ON)
find_package(HDF5 COMPONENTS C)
if(NOT HDF5_FOUND)
    message(FATAL_ERROR "HDF5 not found: apt-get install libhdf5-openmpi-dev")
endif()
if(NOT HDF5_IS_PARALLEL)
    message(FATAL_ERROR
        "The HDF5 found (${HDF5_VERSION}, ${HDF5_INCLUDE_DIRS}) is the serial build; znn needs parallel HDF5 "
        "for collective I/O across MPI ranks: apt-get install libhdf5-openmpi-dev (it installs side by side "
        "with libhdf5-dev).")
endif()
add_library(znn_hdf5 INTERFACE)
# hdf5.h includes mpi.h, so MPI must travel with HDF5.
target_link_libraries(znn_hdf5 INTERFACE HDF5::HDF5 znn_mpi)

# ---- oneDNN: the direct convolution (JIT kernels for the CPU it runs on) ---------------------------------
# Debian's dnnl-config.cmake demands OpenCL headers (the package is also built for GPUs); the CPU
# library needs none of that, so header and library are found directly.
find_path(DNNL_INCLUDE_DIR NAMES oneapi/dnnl/dnnl.hpp)
find_library(DNNL_LIBRARY NAMES dnnl)
if(NOT DNNL_INCLUDE_DIR OR NOT DNNL_LIBRARY)
    message(FATAL_ERROR "oneDNN not found: apt-get install libdnnl-dev")
endif()
add_library(znn_dnnl INTERFACE)
target_include_directories(znn_dnnl INTERFACE ${DNNL_INCLUDE_DIR})
target_link_libraries(znn_dnnl INTERFACE ${DNNL_LIBRARY})
find_package(OpenMP COMPONENTS CXX)
if(NOT OpenMP_CXX_FOUND)
    message(FATAL_ERROR "OpenMP not found (oneDNN's threading runtime): apt-get install g++")
endif()

# ---- libtiff, Boost.Program_options, GoogleTest -------------------------------------------------------
find_package(TIFF)
if(NOT TIFF_FOUND)
    message(FATAL_ERROR "libtiff not found: apt-get install libtiff-dev")
endif()
find_package(Boost 1.74 COMPONENTS program_options)
if(NOT Boost_FOUND)
    message(FATAL_ERROR "Boost.Program_options not found: apt-get install libboost-program-options-dev")
endif()
if(ZNN_BUILD_TESTS)
    find_package(GTest)
    if(NOT GTest_FOUND)
        message(FATAL_ERROR "GoogleTest not found: apt-get install libgtest-dev")
    endif()
endif()

# ---- Python module: Debian's /usr/bin/python3 and pybind11 ------------------------------------------
if(ZNN_BUILD_PYTHON)
    set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the module is built for (Debian's, with its numpy and h5py)")
    find_package(Python COMPONENTS Interpreter Development.Module)
    find_package(pybind11 CONFIG)
    if(NOT Python_FOUND OR NOT pybind11_FOUND)
        message(FATAL_ERROR "the Python module needs python3-dev and pybind11: apt-get install python3-dev pybind11-dev "
                            "python3-pybind11 (or configure with -DZNN_BUILD_PYTHON=OFF)")
    endif()
endif()
