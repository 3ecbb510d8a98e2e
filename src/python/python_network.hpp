#pragma once
// The network the Python module drives (private to src/python): a .znn with its parameters, its own
// thread pool, and one dense network per input size, built on first use and kept. Plain C++: the
// pybind11 layer (znn_module.cpp) only converts arrays and releases the GIL around these calls.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/net_spec.hpp"
#include "znn/conv/engine.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/infer/block_network.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::python {

/// @brief How a PythonNetwork chooses its convolutions.
enum class ConvChoice { Stored, Auto, Direct, Fft };
std::optional<ConvChoice> parse_conv_choice(const std::string& name);

class PythonNetwork {
public:
    /// The network of `net` (a .znn) with the parameters of `weights` (a network file by znn or the
    /// original ZNN; empty: freshly initialised with `seed`), on `threads` threads (0: the process's
    /// affinity mask, or $OMP_NUM_THREADS / $SLURM_CPUS_PER_TASK when set).
    PythonNetwork(const std::string& net, const std::string& weights, int threads, ConvChoice conv, bool softmax, std::uint64_t seed);

    const config::NetSpec& spec() const noexcept { return spec_; }
    const std::string& weights() const noexcept { return weights_; }
    int threads() const noexcept { return pool_.threads(); }
    core::SimdPath simd() const noexcept { return engines_.simd; }
    std::int64_t parameter_count() const;
    /// The field of view (the same for every input node of a dense network).
    core::Vec3i fov() const { return fov_; }
    /// Maps per input / output node, in the .znn's order.
    std::vector<std::pair<std::string, std::int64_t>> inputs() const;
    std::vector<std::pair<std::string, std::int64_t>> outputs() const;

    /// The dense network for output blocks of `block` (built, tuned and kept on first use).
    infer::BlockNetwork& at_block(const core::Vec3i& block);
    /// The convolution choice per conv group of the last network built (empty before any).
    std::map<std::string, conv::ConvAlgo> conv_choices() const;

private:
    config::NetSpec spec_;
    std::string weights_;
    sched::ThreadPool pool_;
    conv::EngineOptions engines_;
    graph::NetworkOptions options_;
    bool softmax_;
    core::Vec3i fov_;
    std::shared_ptr<graph::ParameterStore<float>> params_;
    std::map<std::array<std::int64_t, 3>, std::unique_ptr<infer::BlockNetwork>> nets_;  // by block (z, y, x)
    infer::BlockNetwork* last_ = nullptr;
};

}  // namespace znn::python
