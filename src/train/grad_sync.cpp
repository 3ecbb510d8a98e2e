#include "znn/train/grad_sync.hpp"

#include <algorithm>
#include <chrono>

#include "znn/core/error.hpp"

namespace znn::train {

GradientAverager::GradientAverager(const dist::Comm& comm, graph::ParameterStore<float>& params, GradientAveragerOptions options)
    : comm_(comm), params_(params), options_(options), seen_(params.size(), false)
{
    for (const auto& p : params_.all()) bytes_ += static_cast<std::size_t>(p.gradient.count()) * sizeof(float);
}

void GradientAverager::begin()
{
    used_ = 0;
    open_bytes_ = 0;
    std::fill(seen_.begin(), seen_.end(), false);
}

GradientAverager::Bucket& GradientAverager::open_bucket()
{
    if (used_ == 0 || buckets_[used_ - 1].started) {
        if (buckets_.size() == used_) buckets_.emplace_back();
        Bucket& b = buckets_[used_++];
        b.members.clear();
        b.started = false;
        b.request = MPI_REQUEST_NULL;
        open_bytes_ = 0;
    }
    return buckets_[used_ - 1];
}

void GradientAverager::start(Bucket& b)
{
    std::size_t n = 0;
    for (const std::size_t k : b.members) n += static_cast<std::size_t>(params_.all()[k].gradient.count());
    b.data.resize(n);
    float* dst = b.data.data();
    for (const std::size_t k : b.members) {
        const auto& g = params_.all()[k].gradient;
        dst = std::copy(g.data(), g.data() + g.count(), dst);
    }
    // Overlapped: a non-blocking reduction, progressed by later hook calls. Otherwise the blocking
    // collective, which Open MPI runs with faster algorithms (znn bench allreduce compares them).
    if (options_.overlap) b.request = comm_.start_allreduce_sum(std::span<float>(b.data));
    else comm_.allreduce_sum(std::span<float>(b.data));
    b.started = true;
    ++buckets_reduced_;
}

void GradientAverager::ready(std::size_t index)
{
    if (comm_.size() == 1) return;
    ZNN_CHECK(index < seen_.size() && !seen_[index], "GradientAverager: a gradient was reported twice");
    seen_[index] = true;
    Bucket& b = open_bucket();
    b.members.push_back(index);
    open_bytes_ += static_cast<std::size_t>(params_.all()[index].gradient.count()) * sizeof(float);
    if (options_.overlap && open_bytes_ >= options_.bucket_bytes) start(b);
    // Let the reductions already started move on while backward computes.
    if (options_.overlap)
        for (std::size_t i = 0; i < used_; ++i)
            if (buckets_[i].started && buckets_[i].request != MPI_REQUEST_NULL) dist::Comm::test(std::span<MPI_Request>(&buckets_[i].request, 1));
}

void GradientAverager::finish()
{
    if (comm_.size() == 1) return;
    for (std::size_t k = 0; k < seen_.size(); ++k)
        ZNN_CHECK(seen_[k], "GradientAverager: the gradient of '" + params_.all()[k].group + "' was never reported");
    if (!options_.overlap) {
        // Buckets of bucket_bytes, in the order the gradients came, each reduced now.
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < used_; ++i) order.insert(order.end(), buckets_[i].members.begin(), buckets_[i].members.end());
        used_ = 0;
        std::size_t bytes = 0;
        for (const std::size_t k : order) {
            Bucket& b = open_bucket();
            b.members.push_back(k);
            bytes += static_cast<std::size_t>(params_.all()[k].gradient.count()) * sizeof(float);
            if (bytes >= options_.bucket_bytes) {
                start(b);
                bytes = 0;
            }
        }
    }
    if (used_ > 0 && !buckets_[used_ - 1].started) start(buckets_[used_ - 1]);
    const auto wait_start = std::chrono::steady_clock::now();
    std::vector<MPI_Request> requests;
    for (std::size_t i = 0; i < used_; ++i) requests.push_back(buckets_[i].request);
    dist::Comm::wait(requests);
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
    const float inv = 1.0f / static_cast<float>(comm_.size());
    for (std::size_t i = 0; i < used_; ++i) {
        const float* src = buckets_[i].data.data();
        for (const std::size_t k : buckets_[i].members) {
            auto& g = params_.all()[k].gradient;
            for (std::int64_t j = 0; j < g.count(); ++j) g.data()[j] = src[j] * inv;
            src += g.count();
        }
        buckets_[i].request = MPI_REQUEST_NULL;
    }
}

}  // namespace znn::train
