#include "znn/graph/network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <type_traits>

#include "znn/conv/naive.hpp"
#include "znn/conv/pool.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/graph/transfer.hpp"
#include "znn/sched/trace.hpp"

namespace znn::graph {
namespace {

using config::EdgeType;
using config::NodeType;
using conv::Accumulate;
using tensor::Tensor;
using tensor::TensorView;

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// dst (+)= src, element-wise, as `mode` says.
template <class T> void put(TensorView<const T> src, TensorView<T> dst, Accumulate mode, core::ParallelFor& threads)
{
    ZNN_CHECK(src.shape() == dst.shape(), "network: shapes differ");
    threads.run(src.channels() * src.size().z, 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t cz = begin; cz < end; ++cz) {
            const std::int64_t c = cz / src.size().z, z = cz % src.size().z;
            for (std::int64_t y = 0; y < src.size().y; ++y) {
                const T* s = src.row(c, z, y);
                T* d = dst.row(c, z, y);
                if (mode == Accumulate::Overwrite) std::copy_n(s, src.size().x, d);
                else
                    for (std::int64_t x = 0; x < src.size().x; ++x) d[x] += s[x];
            }
        }
    });
}

/// The algorithm the options give conv group `spec`, or Auto when it is to be measured.
conv::ConvAlgo configured_algo(const config::EdgeGroupSpec& spec, const conv::ConvProblem& problem,
                               const NetworkOptions& options)
{
    if (const auto it = options.conv_choices.find(spec.name); it != options.conv_choices.end()) return it->second;
    if (problem.kernel == Vec3i{1, 1, 1}) return conv::ConvAlgo::Direct;  // nothing to gain from transforms
    switch (options.conv_mode) {
    case config::ConvMode::Fft: return conv::ConvAlgo::Fft;
    case config::ConvMode::Direct: return spec.fft.value_or(false) ? conv::ConvAlgo::Fft : conv::ConvAlgo::Direct;
    case config::ConvMode::Optimize: return conv::ConvAlgo::Auto;
    }
    return conv::ConvAlgo::Auto;
}

/// What the engines of conv group `spec` are built with: the network's threads and engine options, its
/// use, and the group's FFT tile when the network file gave one.
conv::ConvContext conv_context(const config::EdgeGroupSpec& spec, const NetworkResources& resources, const NetworkOptions& options)
{
    conv::ConvContext context{resources.threads, resources.engines, options.usage};
    if (const auto tile = options.fft_tiles.find(spec.name); tile != options.fft_tiles.end()) context.fft_tile = tile->second;
    return context;
}

}  // namespace

template <class T> struct Network<T>::Impl {
    struct Node {
        const config::NodeGroupSpec* spec = nullptr;
        const NodeShape* shape = nullptr;
        Tensor<T> value, grad;
        bool grad_written = false;
        int bias = -1;  // parameter index
        Transfer transfer;
        std::vector<int> in_edges;
        Tensor<std::uint8_t> winner;  // maxout: index into in_edges of the largest input
        double forward_s = 0, backward_s = 0;
    };
    struct Edge {
        const config::EdgeGroupSpec* spec = nullptr;
        const EdgeShape* shape = nullptr;
        int from = -1, to = -1;
        int kernel = -1;  // parameter index
        conv::ConvProblem problem;
        conv::ConvAlgo algo = conv::ConvAlgo::Naive;
        std::unique_ptr<conv::ConvEngine> engine;  // float only
        conv::MaxWindow window;
        Tensor<std::int32_t> argmax;
        Tensor<T> mask;     // dropout: 0 or 1/keep
        Tensor<T> scratch;  // when a non-conv edge adds into a node other edges wrote
        double forward_s = 0, backward_s = 0;
    };

    const config::NetSpec& spec;
    NetShapes shapes;
    NetworkOptions options;
    NetworkResources resources;
    std::vector<Node> nodes;  // topological order
    std::vector<Edge> edges;  // spec order
    std::map<std::string, int> node_index;
    std::shared_ptr<ParameterStore<T>> store;
    std::vector<Parameter>& params;
    GradientReady gradient_ready;
    Phase phase = Phase::Train;
    std::uint64_t iteration = 0;
    std::unique_ptr<conv::ConvSelector> own_selector;
    sched::TracingFor* tracer = nullptr;  // when the caller records the task graph

    /// Names what runs next in the trace.
    void label(const std::string& group, const char* pass)
    {
        if (tracer) tracer->set_label(group + " " + pass);
    }
    /// Work a conv engine ran on threads of its own (oneDNN's OpenMP team).
    void opaque(const Edge& e, std::chrono::steady_clock::time_point start)
    {
        if (tracer && e.algo == conv::ConvAlgo::Direct) tracer->add_opaque(seconds_since(start), resources.threads.threads());
    }

    bool is_output(const std::string& name) const
    {
        const std::vector<std::string> outputs = spec.output_nodes();
        return std::find(outputs.begin(), outputs.end(), name) != outputs.end();
    }

    static std::shared_ptr<ParameterStore<T>> store_for(const config::NetSpec& s, const NetShapes& sh, std::shared_ptr<ParameterStore<T>> given)
    {
        auto own = ParameterStore<T>::create(s, sh);
        if (!given) return own;
        ZNN_CHECK(given->same_layout(*own), "Network: the shared parameters belong to another network specification");
        return given;
    }

    Impl(const config::NetSpec& s, const NetShapes& sh, const NetworkOptions& o, NetworkResources r, std::shared_ptr<ParameterStore<T>> given)
        : spec(s), shapes(sh), options(o), resources(r), store(store_for(s, sh, std::move(given))), params(store->all())
    {
        ZNN_CHECK(o.batch >= 1, "Network: batch must be positive");
        tracer = dynamic_cast<sched::TracingFor*>(&resources.threads);
        const std::int64_t B = o.batch;
        for (const NodeShape& ns : shapes.nodes()) {
            Node n;
            n.spec = spec.node(ns.name);
            n.shape = &ns;
            n.value = Tensor<T>(B * ns.maps, ns.size);
            // Inference keeps gradients only where the caller may set them (output nodes, for losses).
            const bool output = ns.type != NodeType::Input && is_output(ns.name);
            if (ns.type != NodeType::Input && (o.usage == conv::Usage::Training || output))
                n.grad = Tensor<T>(B * ns.maps, ns.size);
            if (ns.type == NodeType::Transfer) {
                n.transfer = Transfer::of(*n.spec);
                n.bias = static_cast<int>(store->index(ns.name));
            }
            if (ns.type == NodeType::Maxout) n.winner = Tensor<std::uint8_t>(B * ns.maps, ns.size);
            node_index[ns.name] = static_cast<int>(nodes.size());
            nodes.push_back(std::move(n));
        }
        for (std::size_t i = 0; i < spec.edges.size(); ++i) {
            Edge e;
            e.spec = &spec.edges[i];
            e.shape = &shapes.edges()[i];
            e.from = node_index.at(e.spec->input);
            e.to = node_index.at(e.spec->output);
            nodes[static_cast<std::size_t>(e.to)].in_edges.push_back(static_cast<int>(i));
            const EdgeShape& es = *e.shape;
            switch (e.spec->type) {
            case EdgeType::Conv: {
                e.problem = {B, es.in_maps, es.out_maps, es.in_size, es.window, es.dilation};
                e.kernel = static_cast<int>(store->index(e.spec->name));
                break;
            }
            case EdgeType::MaxFilter:
                e.window = conv::MaxWindow::filter(es.window, es.dilation);
                e.argmax = Tensor<std::int32_t>(B * es.out_maps, es.out_size);
                break;
            case EdgeType::MaxPool:
                e.window = conv::MaxWindow::pool(es.window);
                e.argmax = Tensor<std::int32_t>(B * es.out_maps, es.out_size);
                break;
            case EdgeType::Dropout: e.mask = Tensor<T>(B * es.out_maps, es.out_size); break;
            default: break;
            }
            edges.push_back(std::move(e));
        }
        // Non-conv edges that add into a node another edge writes first need a scratch output.
        for (Node& n : nodes)
            for (std::size_t k = 1; k < n.in_edges.size(); ++k) {
                Edge& e = edges[static_cast<std::size_t>(n.in_edges[k])];
                if (e.spec->type != EdgeType::Conv && n.spec->type != NodeType::Maxout) e.scratch = Tensor<T>(n.value.shape());
            }
        make_engines();
    }

    void make_engines()
    {
        for (Edge& e : edges) {
            if (e.spec->type != EdgeType::Conv) continue;
            if constexpr (!std::is_same_v<T, float>) {
                e.algo = conv::ConvAlgo::Naive;
            } else {
                const conv::ConvContext context = conv_context(*e.spec, resources, options);
                const conv::ConvAlgo wanted = configured_algo(*e.spec, e.problem, options);
                conv::ConvSelector* selector = resources.selector;
                if (!selector && wanted == conv::ConvAlgo::Auto) {
                    if (!own_selector) own_selector = std::make_unique<conv::ConvSelector>(context, resources.log);
                    selector = own_selector.get();  // one per network: layers of the same shapes are timed once
                }
                e.engine = conv::choose_engine(wanted, e.problem, context, selector, resources.log, e.spec->name);
                e.algo = e.engine->algo();
            }
        }
    }

    Node& node(const std::string& name)
    {
        const auto it = node_index.find(name);
        if (it == node_index.end()) throw core::InputError("the network has no node group '" + name + "'");
        return nodes[static_cast<std::size_t>(it->second)];
    }

    // ---- forward ------------------------------------------------------------------------------

    void conv_forward(Edge& e, TensorView<const T> in, TensorView<T> out, Accumulate mode)
    {
        const Parameter& w = params[static_cast<std::size_t>(e.kernel)];
        const auto start = std::chrono::steady_clock::now();
        if constexpr (std::is_same_v<T, float>) {
            e.engine->forward(in, {w.values.cview(), w.version}, out, mode);
            opaque(e, start);
        } else
            conv::naive::forward<T>(e.problem, in, w.values.cview(), out, mode);
    }

    void edge_forward(Edge& e)
    {
        label(e.spec->name, "forward");
        const auto start = std::chrono::steady_clock::now();
        Node& from = nodes[static_cast<std::size_t>(e.from)];
        Node& to = nodes[static_cast<std::size_t>(e.to)];
        const bool first = to.in_edges.front() == &e - edges.data();
        const Accumulate mode = first ? Accumulate::Overwrite : Accumulate::Add;
        const TensorView<const T> in = from.value.cview();
        // Where a one-to-one edge writes: the node itself, or its scratch to be added.
        TensorView<T> out = first || e.scratch.empty() ? to.value.view() : e.scratch.view();
        switch (e.spec->type) {
        case EdgeType::Conv: conv_forward(e, in, to.value.view(), mode); break;
        case EdgeType::MaxFilter:
        case EdgeType::MaxPool:
            if constexpr (std::is_same_v<T, float>)
                conv::max_forward(in, e.window, out, e.argmax.view(), resources.threads, resources.engines.simd);
            else
                conv::naive::max_forward<T>(in, e.window, out, e.argmax.view());
            break;
        case EdgeType::Dropout: dropout_forward(e, in, out); break;
        case EdgeType::Crop: put(in.box({e.spec->offset, e.shape->out_size}), out, Accumulate::Overwrite, resources.threads); break;
        case EdgeType::Dummy: put(in, out, Accumulate::Overwrite, resources.threads); break;
        case EdgeType::Maxout: break;  // the node takes the maximum of its inputs itself
        }
        if (e.spec->type != EdgeType::Conv && e.spec->type != EdgeType::Maxout && !first && !e.scratch.empty())
            put(e.scratch.cview(), to.value.view(), Accumulate::Add, resources.threads);
        e.forward_s += seconds_since(start);
    }

    void dropout_forward(Edge& e, TensorView<const T> in, TensorView<T> out)
    {
        if (phase == Phase::Test) {
            put(in, out, Accumulate::Overwrite, resources.threads);
            return;
        }
        // One stream per (iteration, edge group): masks are reproducible and independent of threads.
        const std::uint64_t index = iteration * 65536 + static_cast<std::uint64_t>(&e - edges.data());
        core::Rng rng = core::Rng::stream(options.seed, options.rank, core::RngPurpose::Dropout, index);
        const T keep = static_cast<T>(e.spec->ratio), scale = T(1) / keep;
        for (T& m : e.mask.span()) m = rng.uniform() < double(keep) ? scale : T(0);
        const auto mask = e.mask.cview();
        for (std::int64_t c = 0; c < in.channels(); ++c)
            for (std::int64_t z = 0; z < in.size().z; ++z)
                for (std::int64_t y = 0; y < in.size().y; ++y) {
                    const T* s = in.row(c, z, y);
                    const T* m = mask.row(c, z, y);
                    T* d = out.row(c, z, y);
                    for (std::int64_t x = 0; x < in.size().x; ++x) d[x] = s[x] * m[x];
                }
    }

    void maxout_forward(Node& n)
    {
        const std::int64_t count = n.value.count();
        T* dst = n.value.data();
        std::uint8_t* win = n.winner.data();
        for (std::size_t k = 0; k < n.in_edges.size(); ++k) {
            const Edge& e = edges[static_cast<std::size_t>(n.in_edges[k])];
            const T* src = nodes[static_cast<std::size_t>(e.from)].value.data();
            for (std::int64_t i = 0; i < count; ++i)
                if (k == 0 || src[i] > dst[i]) {
                    dst[i] = src[i];
                    win[i] = static_cast<std::uint8_t>(k);
                }
        }
    }

    void node_finish(Node& n)
    {
        label(n.spec->name, "forward");
        const auto start = std::chrono::steady_clock::now();
        if (n.spec->type == NodeType::Maxout) maxout_forward(n);
        if (n.spec->type == NodeType::Transfer) {
            const Parameter& b = params[static_cast<std::size_t>(n.bias)];
            const std::int64_t maps = n.shape->maps, voxels = n.shape->size.product();
            resources.threads.run(n.value.channels(), 1, [&](std::int64_t begin, std::int64_t end, int) {
                for (std::int64_t c = begin; c < end; ++c)
                    n.transfer.forward(std::span<T>(n.value.data() + c * voxels, static_cast<std::size_t>(voxels)), b.values.data()[c % maps]);
            });
        }
        n.forward_s += seconds_since(start);
    }

    void forward()
    {
        for (Node& n : nodes) n.forward_s = n.backward_s = 0;
        for (Edge& e : edges) e.forward_s = e.backward_s = 0;
        for (Node& n : nodes) {
            if (n.spec->type == NodeType::Input) continue;
            for (const int k : n.in_edges) edge_forward(edges[static_cast<std::size_t>(k)]);
            node_finish(n);
        }
        for (Node& n : nodes) n.grad_written = false;
    }

    // ---- backward -----------------------------------------------------------------------------

    /// The mode for adding into `target`'s gradient, marking it written.
    static Accumulate claim(Node& target)
    {
        const Accumulate mode = target.grad_written ? Accumulate::Add : Accumulate::Overwrite;
        target.grad_written = true;
        return mode;
    }

    void edge_backward(Edge& e, Node& to)
    {
        label(e.spec->name, "backward");
        const auto start = std::chrono::steady_clock::now();
        Node& from = nodes[static_cast<std::size_t>(e.from)];
        const bool data = from.spec->type != NodeType::Input;
        const TensorView<const T> g = to.grad.cview();
        switch (e.spec->type) {
        case EdgeType::Conv: {
            Parameter& w = params[static_cast<std::size_t>(e.kernel)];
            const Accumulate mode = data ? claim(from) : Accumulate::Overwrite;
            if (mode == Accumulate::Add) tensor::fill(w.gradient.view(), T(0));  // the kernel gradient is this edge's alone
            if constexpr (std::is_same_v<T, float>) {
                const auto engine_start = std::chrono::steady_clock::now();
                e.engine->backward(from.value.cview(), g, {w.values.cview(), w.version},
                                   {data ? from.grad.view() : TensorView<float>(), w.gradient.view()}, mode);
                opaque(e, engine_start);
            } else {
                if (data) conv::naive::backward_data<T>(e.problem, g, w.values.cview(), from.grad.view(), mode);
                conv::naive::backward_weights<T>(e.problem, from.value.cview(), g, w.gradient.view(), Accumulate::Overwrite);
            }
            if (gradient_ready) gradient_ready(static_cast<std::size_t>(e.kernel));
            break;
        }
        case EdgeType::MaxFilter:
        case EdgeType::MaxPool:
            if (!data) break;
            if constexpr (std::is_same_v<T, float>)
                conv::max_backward(g, e.argmax.cview(), from.grad.view(), claim(from), resources.threads);
            else
                conv::naive::max_backward<T>(g, e.argmax.cview(), from.grad.view(), claim(from));
            break;
        case EdgeType::Dropout: {
            if (!data) break;
            const Accumulate mode = claim(from);
            const T* gm = g.data();
            const T* m = e.mask.data();
            T* d = from.grad.data();
            const std::int64_t n = from.grad.count();
            const bool test = phase == Phase::Test;
            for (std::int64_t i = 0; i < n; ++i) {
                const T v = test ? gm[i] : gm[i] * m[i];
                d[i] = mode == Accumulate::Add ? d[i] + v : v;
            }
            break;
        }
        case EdgeType::Crop: {
            if (!data) break;
            const Accumulate mode = claim(from);
            if (mode == Accumulate::Overwrite) tensor::fill(from.grad.view(), T(0));
            put(g, from.grad.box({e.spec->offset, e.shape->out_size}), Accumulate::Add, resources.threads);
            break;
        }
        case EdgeType::Dummy:
            if (data) put(g, from.grad.view(), claim(from), resources.threads);
            break;
        case EdgeType::Maxout: {
            if (!data) break;
            const Accumulate mode = claim(from);
            const auto k = static_cast<std::uint8_t>(std::find(to.in_edges.begin(), to.in_edges.end(), &e - edges.data()) - to.in_edges.begin());
            const std::int64_t n = from.grad.count();
            for (std::int64_t i = 0; i < n; ++i) {
                const T v = to.winner.data()[i] == k ? g.data()[i] : T(0);
                from.grad.data()[i] = mode == Accumulate::Add ? from.grad.data()[i] + v : v;
            }
            break;
        }
        }
        e.backward_s += seconds_since(start);
    }

    void backward()
    {
        ZNN_CHECK(options.usage == conv::Usage::Training, "network: backward() on a network built for inference");
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            Node& n = *it;
            if (n.spec->type == NodeType::Input) continue;
            if (!n.grad_written)
                throw core::InternalError("network: no gradient reached node group '" + n.spec->name + "' (set the output gradients)");
            label(n.spec->name, "backward");
            const auto start = std::chrono::steady_clock::now();
            if (n.spec->type == NodeType::Transfer) {
                Parameter& b = params[static_cast<std::size_t>(n.bias)];
                const std::int64_t maps = n.shape->maps, voxels = n.shape->size.product();
                // f' and the per-channel sums of the bias gradient in one pass over the maps.
                std::vector<double> sums(static_cast<std::size_t>(n.grad.channels()));
                resources.threads.run(n.grad.channels(), 1, [&](std::int64_t begin, std::int64_t end, int) {
                    for (std::int64_t c = begin; c < end; ++c) {
                        const std::span<T> g(n.grad.data() + c * voxels, static_cast<std::size_t>(voxels));
                        n.transfer.backward(std::span<const T>(n.value.data() + c * voxels, static_cast<std::size_t>(voxels)), g);
                        double sum = 0;
                        for (const T v : g) sum += v;
                        sums[static_cast<std::size_t>(c)] = sum;
                    }
                });
                for (std::int64_t m = 0; m < maps; ++m) {
                    double sum = 0;
                    for (std::int64_t c = m; c < n.grad.channels(); c += maps) sum += sums[static_cast<std::size_t>(c)];
                    b.gradient.data()[m] = static_cast<T>(sum);
                }
                if (gradient_ready) gradient_ready(static_cast<std::size_t>(n.bias));
            }
            n.backward_s += seconds_since(start);
            for (const int k : n.in_edges) edge_backward(edges[static_cast<std::size_t>(k)], n);
        }
    }
};

template <class T>
Network<T>::Network(const config::NetSpec& spec, const NetShapes& shapes, const NetworkOptions& options, NetworkResources resources,
                    std::shared_ptr<ParameterStore<T>> parameters)
    : impl_(std::make_unique<Impl>(spec, shapes, options, resources, std::move(parameters)))
{
}

template <class T> Network<T>::~Network() = default;

template <class T> const config::NetSpec& Network<T>::spec() const noexcept { return impl_->spec; }
template <class T> const NetShapes& Network<T>::shapes() const noexcept { return impl_->shapes; }
template <class T> std::int64_t Network<T>::batch() const noexcept { return impl_->options.batch; }

template <class T> void Network<T>::initialize(std::uint64_t seed) { impl_->store->initialize(seed); }

template <class T> std::vector<typename Network<T>::Parameter>& Network<T>::parameters() noexcept { return impl_->params; }
template <class T> const std::vector<typename Network<T>::Parameter>& Network<T>::parameters() const noexcept { return impl_->params; }

template <class T> typename Network<T>::Parameter* Network<T>::parameter(const std::string& group) { return impl_->store->find(group); }

template <class T> const std::shared_ptr<ParameterStore<T>>& Network<T>::parameter_store() const noexcept { return impl_->store; }

template <class T> void Network<T>::set_gradient_ready(GradientReady hook) { impl_->gradient_ready = std::move(hook); }

template <class T> tensor::TensorView<T> Network<T>::input(const std::string& name)
{
    auto& n = impl_->node(name);
    if (n.spec->type != NodeType::Input) throw core::InputError("'" + name + "' is not an input node group");
    return n.value.view();
}

template <class T> tensor::TensorView<const T> Network<T>::values(const std::string& name) const
{
    return const_cast<Impl&>(*impl_).node(name).value.cview();
}

template <class T> tensor::TensorView<T> Network<T>::output_gradient(const std::string& name)
{
    auto& n = impl_->node(name);
    if (n.spec->type == NodeType::Input) throw core::InputError("'" + name + "' is an input node group");
    n.grad_written = true;
    return n.grad.view();
}

template <class T> void Network<T>::set_phase(Phase phase) noexcept { impl_->phase = phase; }
template <class T> Phase Network<T>::phase() const noexcept { return impl_->phase; }
template <class T> void Network<T>::set_iteration(std::uint64_t iteration) noexcept { impl_->iteration = iteration; }
template <class T> void Network<T>::forward() { impl_->forward(); }
template <class T> void Network<T>::backward() { impl_->backward(); }

template <class T> std::map<std::string, conv::ConvAlgo> Network<T>::conv_choices() const
{
    std::map<std::string, conv::ConvAlgo> out;
    for (const auto& e : impl_->edges)
        if (e.spec->type == EdgeType::Conv) out[e.spec->name] = e.algo;
    return out;
}

template <class T> std::map<std::string, core::Vec3i> Network<T>::fft_tiles() const
{
    std::map<std::string, core::Vec3i> out;
    for (const auto& e : impl_->edges)
        if (e.engine)
            if (const auto tile = e.engine->fft_tile()) out[e.spec->name] = *tile;
    return out;
}

template <class T> std::vector<GroupTime> Network<T>::timings() const
{
    std::vector<GroupTime> out;
    for (const auto& n : impl_->nodes) {
        if (n.spec->type == NodeType::Input) continue;
        for (const int k : n.in_edges) {
            const auto& e = impl_->edges[static_cast<std::size_t>(k)];
            std::string how;
            if (e.spec->type == EdgeType::Conv) how = e.engine ? e.engine->describe() : std::string(conv::to_string(e.algo));
            out.push_back({e.spec->name, e.forward_s, e.backward_s, how, e.engine ? e.engine->phase_seconds() : decltype(GroupTime::engine_phases){}});
        }
        out.push_back({n.spec->name, n.forward_s, n.backward_s, "", {}});
    }
    return out;
}

template <class T> std::int64_t Network<T>::memory_bytes() const
{
    std::int64_t bytes = 0;
    for (const auto& n : impl_->nodes) bytes += (n.value.count() + n.grad.count()) * static_cast<std::int64_t>(sizeof(T));
    for (const auto& p : impl_->params) bytes += 2 * p.values.count() * static_cast<std::int64_t>(sizeof(T));
    for (const auto& e : impl_->edges) {
        bytes += e.argmax.count() * 4 + (e.mask.count() + e.scratch.count()) * static_cast<std::int64_t>(sizeof(T));
        if (e.engine) bytes += static_cast<std::int64_t>(e.engine->cached_bytes());
    }
    return bytes;
}

template <class T> std::int64_t Network<T>::workspace_bytes() const
{
    std::int64_t bytes = 0;
    for (const auto& e : impl_->edges)
        if (e.engine) bytes += static_cast<std::int64_t>(e.engine->workspace_bytes());
    return bytes;
}

MemoryEstimate estimate_memory(const config::NetSpec& spec, const NetShapes& shapes, const NetworkOptions& options,
                               const NetworkResources& resources)
{
    MemoryEstimate m;
    const std::int64_t B = options.batch, f = sizeof(float);
    const bool training = options.usage == conv::Usage::Training;
    const std::vector<std::string> outputs = spec.output_nodes();
    std::map<std::string, std::int64_t> in_edges;
    for (const EdgeShape& e : shapes.edges())
        ++in_edges[e.output];
    for (const NodeShape& n : shapes.nodes()) {
        const std::int64_t bytes = B * n.maps * n.size.product() * f;
        const bool output = std::find(outputs.begin(), outputs.end(), n.name) != outputs.end();
        m.nodes += bytes;
        if (n.type != NodeType::Input && (training || output)) m.nodes += bytes;
        if (n.type == NodeType::Maxout) m.buffers += B * n.maps * n.size.product();
    }
    m.parameters = 2 * shapes.parameters() * f;
    std::map<std::string, std::int64_t> seen;
    for (std::size_t i = 0; i < shapes.edges().size(); ++i) {
        const EdgeShape& e = shapes.edges()[i];
        const config::EdgeGroupSpec& es = spec.edges[i];
        const std::int64_t out = B * e.out_maps * e.out_size.product();
        if (e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool) m.buffers += out * 4;
        if (e.type == EdgeType::Dropout) m.buffers += out * f;
        if (e.type != EdgeType::Conv && seen[e.output]++ > 0) m.buffers += out * f;  // scratch
        if (e.type != EdgeType::Conv) continue;
        const conv::ConvProblem problem{B, e.in_maps, e.out_maps, e.in_size, e.window, e.dilation};
        m.engines += static_cast<std::int64_t>(
            conv::choice_workspace_estimate(configured_algo(es, problem, options), problem, conv_context(es, resources, options)));
    }
    return m;
}

template class Network<float>;
template class Network<double>;

}  // namespace znn::graph
