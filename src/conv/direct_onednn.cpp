// The direct convolution engine, built on oneDNN (Debian's libdnnl, the library PyTorch uses).
//
// oneDNN JIT-compiles kernels for the CPU it runs on (AVX2, AVX-512, ...) and comes close to the
// FMA peak on 3³ layers, several times what a portable hand-written kernel did; see README,
// "Dependencies". Its kernels want channel-blocked layouts, so the engine reorders our planar
// (c, z, y, x) tensors into the layout oneDNN chose and back, keeps the reordered input of the last
// forward pass for the weight gradient, and reorders the weights once per weight version.
//
// oneDNN computes a cross-correlation; znn's convolution is a true one (kernel flipped), so weights
// are flipped on the way in and weight gradients on the way out. Dilation is oneDNN's "dilation"
// plus one. oneDNN runs on the OpenMP team of the calling thread: the engine sets its size to its
// ParallelFor's, so that with sched::ThreadPool (whose regions are that same team) one set of
// threads runs both. Like every engine it is called from one thread at a time.

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engines.hpp"
#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"

namespace znn::conv {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

memory::dims dims5(std::int64_t n, std::int64_t c, const Vec3i& s) { return {n, c, s.z, s.y, s.x}; }

/// Flips a kernel array (F_out·F_in, K) along z, y and x: true convolution <-> cross-correlation.
void flip_kernels(const float* src, float* dst, std::int64_t kernels, const Vec3i& K)
{
    const std::int64_t n = K.product();
    for (std::int64_t k = 0; k < kernels; ++k)
        for (std::int64_t i = 0; i < n; ++i) dst[k * n + (n - 1 - i)] = src[k * n + i];
}

// Under ThreadSanitizer oneDNN runs every primitive on the calling thread: libgomp's barriers are
// invisible to it, so OpenMP workers would look unordered with the thread that handed them the work.
// This keeps the sanitizer's view whole (tests/support/tsan.supp needs no oneDNN or libgomp entry, and
// a race between znn's threads and oneDNN's work is reported) at the cost of oneDNN's own parallel
// loops, which no sanitizer build could check anyway.
#if defined(__SANITIZE_THREAD__)
constexpr bool kOneDnnOnCallingThread = true;
#else
constexpr bool kOneDnnOnCallingThread = false;
#endif

class OneDnnEngine final : public ConvEngine {
public:
    OneDnnEngine(const ConvProblem& p, const ConvContext& context)
        : ConvEngine(p), threads_(context.threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_)
    {
        set_omp_threads();  // oneDNN partitions work when primitives are created
        const memory::dims strides{1, 1, 1}, padding{0, 0, 0};
        const memory::dims dilation{p.dilation.z - 1, p.dilation.y - 1, p.dilation.x - 1};
        const auto any = [](const memory::dims& d) { return memory::desc(d, memory::data_type::f32, Tag::any); };
        src_plain_ = memory::desc(dims5(p.batch, p.in_channels, p.in_size), memory::data_type::f32, Tag::ncdhw);
        dst_plain_ = memory::desc(dims5(p.batch, p.out_channels, p.out_size()), memory::data_type::f32, Tag::ncdhw);
        w_plain_ = memory::desc(dims5(p.out_channels, p.in_channels, p.kernel), memory::data_type::f32, Tag::oidhw);
        const auto prop = context.usage == Usage::Training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
        // 1×1×1 kernels on the planar layouts themselves: oneDNN runs them as one matrix product
        // (gemm:jit) with no reorders, several times faster than its blocked 1×1 kernel plus the
        // reorders around it.
        const bool plain = p.kernel.product() == 1;
        const memory::desc src_md = plain ? src_plain_ : any(src_plain_.dims());
        const memory::desc dst_md = plain ? dst_plain_ : any(dst_plain_.dims());
        const dnnl::convolution_forward::desc fwd(prop, dnnl::algorithm::convolution_direct, src_md,
                                                  any(w_plain_.dims()), dst_md, strides, dilation, padding,
                                                  padding);
        fwd_pd_ = dnnl::convolution_forward::primitive_desc(fwd, engine_);
        fwd_ = dnnl::convolution_forward(fwd_pd_);
        if (context.usage == Usage::Training) {
            const dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, src_md,
                                                          any(w_plain_.dims()), dst_md, strides, dilation,
                                                          padding, padding);
            bwd_data_pd_ = dnnl::convolution_backward_data::primitive_desc(bd, engine_, fwd_pd_);
            const dnnl::convolution_backward_weights::desc bw(dnnl::algorithm::convolution_direct, src_md,
                                                             any(w_plain_.dims()), dst_md, strides,
                                                             dilation, padding, padding);
            bwd_weights_pd_ = dnnl::convolution_backward_weights::primitive_desc(bw, engine_, fwd_pd_);
        }
        flipped_ = core::AlignedBuffer<float>(static_cast<std::size_t>(p.out_channels * p.in_channels * p.kernel.product()));
    }

    ConvAlgo algo() const noexcept override { return ConvAlgo::Direct; }

    std::string describe() const override { return std::string("onednn ") + fwd_pd_.impl_info_str(); }

    void forward(TensorView<const float> in, const Weights& w, TensorView<float> out, Accumulate mode) override
    {
        check_shapes(in, out, w);
        set_omp_threads();
        refresh_weights(w, fwd_pd_.weights_desc(), fwd_weights_, fwd_version_);
        src_ = to_layout(in, src_plain_, fwd_pd_.src_desc(), src_);
        src_source_ = in.data();
        if (!dst_ || dst_.get_desc() != fwd_pd_.dst_desc()) dst_ = memory(fwd_pd_.dst_desc(), engine_);
        fwd_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, fwd_weights_}, {DNNL_ARG_DST, dst_}});
        from_layout(dst_, dst_plain_, out, mode);
        stream_.wait();
    }

    void backward(TensorView<const float> in, TensorView<const float> grad_out, const Weights& w, const Gradients& grads,
                  Accumulate mode) override
    {
        check_shapes(in, grad_out, w);
        ZNN_CHECK(bwd_data_pd_ || bwd_weights_pd_, "backward() on an engine built for inference");
        set_omp_threads();
        if (!grads.input.empty()) {
            refresh_weights(w, bwd_data_pd_.weights_desc(), bwd_weights_mem_, bwd_version_);
            diff_dst_ = to_layout(grad_out, dst_plain_, bwd_data_pd_.diff_dst_desc(), diff_dst_);
            if (!diff_src_) diff_src_ = memory(bwd_data_pd_.diff_src_desc(), engine_);
            if (!bwd_data_) bwd_data_ = dnnl::convolution_backward_data(bwd_data_pd_);
            bwd_data_.execute(stream_, {{DNNL_ARG_DIFF_DST, diff_dst_}, {DNNL_ARG_WEIGHTS, bwd_weights_mem_},
                                        {DNNL_ARG_DIFF_SRC, diff_src_}});
            from_layout(diff_src_, src_plain_, grads.input, mode);
        }
        if (!grads.weights.empty()) {
            if (src_source_ != in.data() || !src_ || src_.get_desc() != bwd_weights_pd_.src_desc()) {
                src_ = to_layout(in, src_plain_, bwd_weights_pd_.src_desc(), src_);
                src_source_ = in.data();
            }
            memory diff_dst = to_layout(grad_out, dst_plain_, bwd_weights_pd_.diff_dst_desc(), diff_dst_w_);
            diff_dst_w_ = diff_dst;
            if (!diff_weights_) diff_weights_ = memory(bwd_weights_pd_.diff_weights_desc(), engine_);
            if (!bwd_weights_) bwd_weights_ = dnnl::convolution_backward_weights(bwd_weights_pd_);
            bwd_weights_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DIFF_DST, diff_dst},
                                           {DNNL_ARG_DIFF_WEIGHTS, diff_weights_}});
            // Back to plain (o, i, kz, ky, kx), then flipped into the caller's layout.
            memory plain(w_plain_, engine_, flipped_.data());
            reorder(diff_weights_, plain);
            stream_.wait();
            const ConvProblem& p = problem();
            const std::int64_t n = p.kernel.product();
            for (std::int64_t k = 0; k < p.out_channels * p.in_channels; ++k) {
                TensorView<float> dst = grads.weights.channel(k);
                const float* src = flipped_.data() + k * n;
                std::int64_t idx = n - 1;
                dst.for_each([&](float& v) { v = mode == Accumulate::Add ? v + src[idx] : src[idx]; --idx; });
            }
        }
        stream_.wait();
    }

    std::size_t workspace_bytes() const override
    {
        // Input, output and weights in oneDNN's layouts, the flipped weights, each primitive's
        // scratchpad; training also the layouts of both gradients and the backward weights.
        const ConvProblem& p = problem();
        std::size_t bytes = fwd_pd_.src_desc().get_size() + fwd_pd_.dst_desc().get_size() +
                            fwd_pd_.weights_desc().get_size() + fwd_pd_.scratchpad_desc().get_size() +
                            flipped_.size() * sizeof(float) +
                            static_cast<std::size_t>(p.batch * std::max(p.in_channels * p.in_size.product(),
                                                                    p.out_channels * p.out_size().product())) *
                                sizeof(float);  // staging_
        if (bwd_data_pd_)
            bytes += bwd_data_pd_.diff_dst_desc().get_size() + bwd_data_pd_.diff_src_desc().get_size() +
                     bwd_data_pd_.weights_desc().get_size() + bwd_data_pd_.scratchpad_desc().get_size();
        if (bwd_weights_pd_)
            bytes += bwd_weights_pd_.diff_dst_desc().get_size() + bwd_weights_pd_.diff_weights_desc().get_size() +
                     bwd_weights_pd_.scratchpad_desc().get_size();
        return bytes;
    }

    std::size_t cached_bytes() const override
    {
        std::size_t bytes = 0;
        for (const memory* m : {&src_, &dst_, &diff_dst_, &diff_src_, &diff_dst_w_, &diff_weights_, &fwd_weights_, &bwd_weights_mem_})
            if (*m) bytes += m->get_desc().get_size();
        return bytes;
    }

    void release_cache() override
    {
        for (memory* m : {&src_, &dst_, &diff_dst_, &diff_src_, &diff_dst_w_, &diff_weights_}) *m = memory();
        src_source_ = nullptr;
    }

private:
    /// The OpenMP team oneDNN's next primitive runs on: the engine's threads (one under ThreadSanitizer).
    void set_omp_threads() const { omp_set_num_threads(kOneDnnOnCallingThread ? 1 : threads_.threads()); }

    static constexpr std::uint64_t kNoVersion = ~std::uint64_t{0};

    void reorder(memory from, memory to) { dnnl::reorder(from, to).execute(stream_, from, to); }

    /// The planar view `v` in oneDNN layout `want` (reusing `cache` when it has that layout).
    memory to_layout(TensorView<const float> v, const memory::desc& plain, const memory::desc& want, memory cache)
    {
        const float* data = v.data();
        if (!v.is_contiguous()) {
            staging_.resize(static_cast<std::size_t>(v.count()));
            tensor::copy(v, TensorView<float>(staging_.data(), v.shape()));
            data = staging_.data();
        }
        memory user(plain, engine_, const_cast<float*>(data));
        if (want == plain) {
            // Same layout: oneDNN reads the caller's buffer directly.
            return user;
        }
        if (!cache || cache.get_desc() != want) cache = memory(want, engine_);
        reorder(user, cache);
        return cache;
    }

    /// Writes (or adds) oneDNN memory `m` into the planar view `out`.
    void from_layout(const memory& m, const memory::desc& plain, TensorView<float> out, Accumulate mode)
    {
        const bool direct = mode == Accumulate::Overwrite && out.is_contiguous();
        if (direct) {
            memory user(plain, engine_, out.data());
            reorder(m, user);
            stream_.wait();
            return;
        }
        staging_.resize(static_cast<std::size_t>(out.count()));
        memory user(plain, engine_, staging_.data());
        reorder(m, user);
        stream_.wait();
        const TensorView<const float> src(staging_.data(), out.shape());
        if (mode == Accumulate::Overwrite) {
            tensor::copy(src, out);
            return;
        }
        for (std::int64_t c = 0; c < out.channels(); ++c)
            for (std::int64_t z = 0; z < out.size().z; ++z)
                for (std::int64_t y = 0; y < out.size().y; ++y) {
                    float* d = out.row(c, z, y);
                    const float* s = src.row(c, z, y);
                    for (std::int64_t x = 0; x < out.size().x; ++x) d[x] += s[x];
                }
    }

    /// Flips w into oneDNN's cross-correlation order and reorders it into `target` (layout `want`),
    /// once per weight version.
    void refresh_weights(const Weights& w, const memory::desc& want, memory& target, std::uint64_t& version)
    {
        if (version == w.version && target) return;
        const ConvProblem& p = problem();
        const std::int64_t kernels = p.out_channels * p.in_channels;
        if (w.values.is_contiguous()) {
            flip_kernels(w.values.data(), flipped_.data(), kernels, p.kernel);
        } else {
            tensor::Tensor<float> copy(w.values.shape(), core::Init::Uninitialized);
            tensor::copy(w.values, copy.view());
            flip_kernels(copy.data(), flipped_.data(), kernels, p.kernel);
        }
        memory plain(w_plain_, engine_, flipped_.data());
        if (!target || target.get_desc() != want) target = memory(want, engine_);
        reorder(plain, target);
        stream_.wait();
        version = w.version;
    }

    core::ParallelFor& threads_;
    dnnl::engine engine_;
    dnnl::stream stream_;
    memory::desc src_plain_, dst_plain_, w_plain_;
    dnnl::convolution_forward::primitive_desc fwd_pd_;
    dnnl::convolution_backward_data::primitive_desc bwd_data_pd_;
    dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd_;
    dnnl::convolution_forward fwd_;
    dnnl::convolution_backward_data bwd_data_;
    dnnl::convolution_backward_weights bwd_weights_;
    memory src_, dst_, diff_dst_, diff_src_, diff_dst_w_, diff_weights_, fwd_weights_, bwd_weights_mem_;
    const float* src_source_ = nullptr;  // the planar input src_ was made from
    std::uint64_t fwd_version_ = kNoVersion;
    std::uint64_t bwd_version_ = kNoVersion;
    core::AlignedBuffer<float> flipped_;
    std::vector<float> staging_;
};

}  // namespace

std::string onednn_version()
{
    const dnnl_version_t* v = dnnl_version();
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    std::string wait = policy ? std::string("OMP_WAIT_POLICY ") + policy : "the runtime's default wait";
    if (spin) wait += std::string(", GOMP_SPINCOUNT ") + spin;
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const std::string kernels = isa == dnnl_cpu_isa_avx2 || isa == dnnl_cpu_isa_avx2_vnni ? "avx2"
                                : (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? "avx512"
                                                                                                : "isa " + std::to_string(int(isa));
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" + kernels +
           " kernels, on the thread pool's OpenMP team; " + wait + ")";
}

void limit_onednn_isa(core::SimdPath path)
{
    if (path == core::SimdPath::Avx2 && dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2) != dnnl_success)
        throw core::InternalError("oneDNN: its kernels were generated before the AVX2 limit could be set");
}

std::unique_ptr<ConvEngine> make_onednn_engine(const ConvProblem& problem, const ConvContext& context)
{
    return std::make_unique<OneDnnEngine>(problem, context);
}

}  // namespace znn::conv
