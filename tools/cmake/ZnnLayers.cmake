# The module table: the one place that says which znn module may use which (README, "Architecture").
# src/CMakeLists.txt links each module to the modules listed here, and check_layering.cmake (run at
# every build and by the `layering` test) checks every #include of the sources against the same lists.
# Lower layers never use upper ones; a module's list is every module it may include, directly or not.
#
#   layer  module  may use
set(ZNN_MODULES core tensor dist sched config fft io data conv graph model train infer eval app python)
set(ZNN_USES_core   "")                                                              # L0
set(ZNN_USES_tensor "core")                                                          # L1a
set(ZNN_USES_dist   "core")
set(ZNN_USES_sched  "core")
set(ZNN_USES_config "core")
set(ZNN_USES_fft    "tensor;core")                                                   # L1b
set(ZNN_USES_io     "tensor;dist;core")
set(ZNN_USES_conv   "fft;tensor;core")                                               # L2
set(ZNN_USES_graph  "conv;fft;sched;config;tensor;core")                             # L3
set(ZNN_USES_data   "io;config;tensor;dist;core")
set(ZNN_USES_model  "graph;conv;fft;sched;io;dist;config;tensor;core")               # L4
set(ZNN_USES_train  "model;graph;conv;fft;data;io;dist;config;sched;tensor;core")
set(ZNN_USES_infer  "model;graph;conv;fft;data;io;dist;config;sched;tensor;core")
set(ZNN_USES_eval   "infer;model;graph;conv;fft;data;io;dist;config;sched;tensor;core")
set(ZNN_USES_app    "train;eval;infer;model;graph;conv;fft;data;io;dist;config;sched;tensor;core")
set(ZNN_USES_python "train;eval;infer;model;graph;conv;fft;data;io;dist;config;sched;tensor;core")  # L5 beside app

# Third-party headers stay inside the modules (or files) that wrap them: header prefix, then the
# paths (prefixes of repository paths) that may include it. Tests and tools are not checked.
set(ZNN_CONFINED_HEADERS
    "mpi.h=include/znn/dist/,src/dist/"
    "hdf5.h=src/io/hdf5.cpp"
    "H5=src/io/hdf5.cpp"
    "fftw3=tests/support/fftw_oracle.cpp"
    "tiff=src/io/tiff.cpp"
    "oneapi/=src/conv/direct_onednn.cpp"
    "dnnl=src/conv/direct_onednn.cpp"
    "omp.h=src/sched/thread_pool.cpp,src/conv/direct_onednn.cpp"
    "immintrin.h=include/znn/fft/simd.hpp,src/conv/max_rows.cpp"
    "boost/=src/app/"
    "pybind11/=src/python/"
    "Python.h=src/python/")
