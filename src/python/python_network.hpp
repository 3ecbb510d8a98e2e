#pragma once
// The network the Python module drives (private to src/python): a .znn with its parameters, its own
// thread pool, and one dense network per input size, built on first use and kept. Plain C++: the
// pybind11 layer (znn_module.cpp) only converts arrays and releases the GIL around these calls.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/net_spec.hpp"
#include "znn/conv/engine.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/infer/block_network.hpp"
#include "znn/infer/block_pass.hpp"
#include "znn/sched/thread_pool.hpp"
#include "python_training.hpp"

namespace znn::python {

/// @brief How a PythonNetwork chooses its convolutions.
enum class ConvChoice { Stored, Auto, Direct, Fft };
std::optional<ConvChoice> parse_conv_choice(const std::string& name);

/// @brief What predict() runs.
struct PredictRequest {
    core::Vec3i block;    ///< output block; zero: chosen (see predict_block)
    bool mirror = false;  ///< the volume padded by the field of view (is_bd_mirror): output = input size
    infer::TtaPlan tta;
};

/// Reads a region (in the volume's padded coordinates) of one input node's volume: (maps, region.size).
using RegionReader = std::function<tensor::Tensor<float>(const core::Box3& region)>;

class PythonNetwork {
public:
    /// The network of `net` (a .znn) with the parameters of `weights` (a network file by znn or the
    /// original ZNN; empty: freshly initialised with `seed`), on `threads` threads (0: the process's
    /// affinity mask, or $OMP_NUM_THREADS / $SLURM_CPUS_PER_TASK when set).
    /// `softmax` unset: as `znn forward` decides it, from the training configuration the network file
    /// records (a softmax cost: softmaxed outputs), else none.
    PythonNetwork(const std::string& net, const std::string& weights, int threads, ConvChoice conv, std::optional<bool> softmax,
                  std::uint64_t seed);
    bool softmax() const noexcept { return softmax_; }
    /// Held by the one call that uses this network (the bindings' NetworkGuard): not thread-safe itself.
    std::mutex& busy() const noexcept { return busy_; }

    const config::NetSpec& spec() const noexcept { return spec_; }
    const std::string& weights() const noexcept { return weights_; }
    int threads() const noexcept { return pool_.threads(); }
    core::SimdPath simd() const noexcept { return engines_.simd; }
    std::int64_t parameter_count() const noexcept { return parameter_count_; }
    /// The field of view (the same for every input node of a dense network).
    core::Vec3i fov() const { return fov_; }
    /// Maps per input / output node, in the .znn's order.
    std::vector<std::pair<std::string, std::int64_t>> inputs() const;
    std::vector<std::pair<std::string, std::int64_t>> outputs() const;

    /// The dense network for output blocks of `block` (built, tuned and kept on first use).
    infer::BlockNetwork& at_block(const core::Vec3i& block);
    /// The output of predict() over a volume of `stored` voxels.
    core::Vec3i predict_output_size(const core::Vec3i& stored, bool mirror) const;
    /// The output block predict() uses: request.block when given (at most the output), else the
    /// output up to 128 voxels per axis, halved along its longest axis until the working set fits
    /// the memory budget of `znn forward` (infer::default_forward_memory).
    core::Vec3i predict_block(const core::Vec3i& output, const PredictRequest& request);
    /// Inference over a whole volume of `stored` voxels, read by `inputs` (per input node), block by
    /// block on the grid `znn forward` uses (infer::BlockGrid, infer::BlockPass): each block's kept
    /// part is written into outputs[node] (maps, predict_output_size). Stops between blocks once
    /// *stop is set (returns false; the outputs are then partly written).
    bool predict(const std::map<std::string, RegionReader>& inputs, const core::Vec3i& stored, const PredictRequest& request,
                 const std::map<std::string, tensor::TensorView<float>>& outputs, const std::atomic<int>* stop);

    /// Seconds of the network pass alone in the last forward (set by the caller that timed it).
    double last_pass_seconds() const noexcept { return last_pass_seconds_; }
    void set_last_pass_seconds(double s) noexcept { last_pass_seconds_ = s; }
    /// The convolution choice per conv group of the last network built (empty before any).
    std::map<std::string, conv::ConvAlgo> conv_choices() const;

    /// Training on patches given by the caller, on these parameters (built on first use).
    Training& training();
    /// Writes the network file `path` atomically: the parameters, the optimizer state of training()
    /// when it took steps (the SGD velocity as the original's momentum_vol), the steps as its
    /// iteration, the .znn text, the convolution plan of the last network run, and the training
    /// configuration of the network file it was loaded from (which decides softmax on loading).
    void save(const std::string& path) const;
    /// Every parameter group's values, and gradients of the last training pass (zero before).
    const std::vector<graph::Parameter<float>>& parameters() const { return params_->all(); }
    /// Replaces a group's values (same shape) and marks them changed.
    void set_parameter(const std::string& group, tensor::TensorView<const float> values);

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
    std::unique_ptr<Training> training_;
    double last_pass_seconds_ = 0;
    std::string trained_config_;  // the znn_config of the network file loaded, kept by save()
    std::string net_text_;        // the .znn as loaded, written by save()
    std::int64_t parameter_count_ = 0;

    graph::NetworkResources resources() { return {pool_, engines_, nullptr, nullptr}; }
    mutable std::mutex busy_;
};

}  // namespace znn::python
