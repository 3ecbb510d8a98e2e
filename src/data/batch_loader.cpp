#include "znn/data/batch_loader.hpp"

#include <algorithm>
#include <chrono>

#include "znn/core/error.hpp"

namespace znn::data {

PatchSource::PatchSource(std::vector<SampleData> samples, config::Augmentation augmentation, bool augment)
    : samples_(std::move(samples)), augmentation_(augmentation), augment_(augment)
{
    for (const SampleData& s : samples_) {
        total_ += s.candidates().count();
        ends_.push_back(total_);
    }
}

Patch PatchSource::draw(core::Rng& sampling, core::Rng& augment) const
{
    ZNN_CHECK(total_ > 0, "PatchSource::draw: no candidate patches");
    const std::int64_t k = sampling.uniform_int(0, total_ - 1);
    const auto s = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), k) - ends_.begin());
    const SampleData& sample = samples_[s];
    const core::Vec3i d = sample.candidates().at(k - (s > 0 ? ends_[s - 1] : 0));
    if (!augment_) return sample.extract(d, {}, nullptr);
    const SpatialTransform t = SpatialTransform::draw(augment, augmentation_.flips, augmentation_.transpose, augmentation_.rot90);
    return sample.extract(d, t, &augment);
}

std::vector<Patch> BatchLoader::make_batch(const PatchSource& source, const BatchLoaderOptions& o, std::int64_t index)
{
    const std::uint64_t stream = o.stream_base + static_cast<std::uint64_t>(index);
    std::vector<Patch> batch;
    batch.reserve(static_cast<std::size_t>(o.batch_size));
    for (std::int64_t i = 0; i < o.batch_size; ++i) {
        // Each patch of the job's global batch has its own slot, and its slot its own streams.
        const std::int64_t slot = std::int64_t(o.rank) * o.batch_size + i;
        ZNN_CHECK(slot < (std::int64_t(1) << 31), "BatchLoader: too many patches per batch");
        core::Rng sampling = core::Rng::stream(o.seed, static_cast<int>(slot), core::RngPurpose::Sampling, stream);
        core::Rng augment = core::Rng::stream(o.seed, static_cast<int>(slot), core::RngPurpose::Augment, stream);
        batch.push_back(source.draw(sampling, augment));
    }
    return batch;
}

BatchLoader::BatchLoader(std::shared_ptr<const PatchSource> source, BatchLoaderOptions options)
    : source_(std::move(source)), options_(options), next_to_make_(options.first_batch), next_to_return_(options.first_batch)
{
    ZNN_CHECK(source_ && options_.batch_size >= 1 && options_.threads >= 1 && options_.depth >= 1, "BatchLoader: bad options");
    if (source_->candidates() == 0)
        throw core::InputError("no candidate patches on rank " + std::to_string(options_.rank) +
                               " (the masks exclude every position of its part of the volumes); try fewer ranks")
            .on_rank(options_.rank);
    for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    room_.notify_all();
    for (std::thread& t : threads_) t.join();
}

void BatchLoader::work()
{
    for (;;) {
        std::int64_t index;
        {
            std::unique_lock lock(mutex_);
            room_.wait(lock, [&] { return stopping_ || next_to_make_ < next_to_return_ + options_.depth; });
            if (stopping_) return;
            index = next_to_make_++;
        }
        Slot slot;
        try {
            slot.batch = make_batch(*source_, options_, index);
        } catch (...) {
            slot.error = std::current_exception();
        }
        {
            std::lock_guard lock(mutex_);
            done_.emplace(index, std::move(slot));
        }
        ready_.notify_all();
    }
}

std::vector<Patch> BatchLoader::next()
{
    std::unique_lock lock(mutex_);
    const auto it0 = done_.find(next_to_return_);
    if (it0 == done_.end()) {
        const auto start = std::chrono::steady_clock::now();
        ready_.wait(lock, [&] { return done_.count(next_to_return_) > 0; });
        wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    auto node = done_.extract(next_to_return_);
    ++next_to_return_;
    lock.unlock();
    room_.notify_all();
    if (node.mapped().error) std::rethrow_exception(node.mapped().error);
    return std::move(node.mapped().batch);
}

}  // namespace znn::data
