#include "znn/infer/block_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <utility>

#include "znn/core/error.hpp"
#include "znn/core/hash.hpp"
#include "znn/dist/agree.hpp"
#include "znn/io/atomic_file.hpp"

namespace znn::infer {
namespace {

constexpr const char* kRecord = "/znn_forward_blocks";

core::DType dtype_of(OutputType t)
{
    return t == OutputType::UInt8 ? core::DType::UInt8 : core::DType::Float32;
}

std::string system_reason()
{
    return std::strerror(errno);
}

/// Writes all of `bytes` at `offset`, or throws IoError naming `path`.
void pwrite_all(int fd, const void* bytes, std::size_t n, std::int64_t offset, const std::string& path)
{
    const auto* p = static_cast<const unsigned char*>(bytes);
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw core::IoError("cannot write a block: " + system_reason()).at(path);
        p += w;
        n -= static_cast<std::size_t>(w);
        offset += w;
    }
}

void pread_all(int fd, void* bytes, std::size_t n, std::int64_t offset, const std::string& path)
{
    auto* p = static_cast<unsigned char*>(bytes);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            throw core::InputError("cannot read a block (truncated file?): " +
                                   (r < 0 ? system_reason() : std::string("end of file")))
                .at(path);
        p += r;
        n -= static_cast<std::size_t>(r);
        offset += r;
    }
}

/// The largest divisor of n that is at most cap.
std::int64_t largest_divisor_at_most(std::int64_t n, std::int64_t cap)
{
    for (std::int64_t d = std::min(n, cap); d > 1; --d)
        if (n % d == 0) return d;
    return 1;
}

}  // namespace

Vec3i output_chunk(const Vec3i& block)
{
    const bool flat = block.z == 1;
    const Vec3i cap = flat ? Vec3i{1, 512, 512} : Vec3i{64, 64, 64};
    Vec3i chunk;
    for (int a = 0; a < 3; ++a) {
        if (block[a] <= cap[a]) {
            chunk[a] = block[a];
            continue;
        }
        const std::int64_t d = largest_divisor_at_most(block[a], cap[a]);
        chunk[a] = d * 4 >= cap[a] ? d : block[a];
    }
    return chunk;
}

BlockStore::BlockStore(std::string path, const BlockGrid& grid, std::int64_t channels, OutputType type,
                       const dist::Comm& comm)
    : path_(std::move(path)), grid_(grid), channels_(channels), type_(type), comm_(comm)
{
}

BlockStore::BlockStore(BlockStore&& o) noexcept
    : path_(std::move(o.path_)),
      grid_(o.grid_),
      channels_(o.channels_),
      type_(o.type_),
      comm_(o.comm_),
      attributes_(std::move(o.attributes_)),
      chunk_address_(std::move(o.chunk_address_)),
      record_address_(o.record_address_),
      record_(std::move(o.record_)),
      fd_(std::exchange(o.fd_, -1)),
      created_(o.created_)
{
}

BlockStore& BlockStore::operator=(BlockStore&& o) noexcept
{
    std::swap(path_, o.path_);
    std::swap(grid_, o.grid_);
    std::swap(channels_, o.channels_);
    std::swap(type_, o.type_);
    std::swap(comm_, o.comm_);
    std::swap(attributes_, o.attributes_);
    std::swap(chunk_address_, o.chunk_address_);
    std::swap(record_address_, o.record_address_);
    std::swap(record_, o.record_);
    std::swap(fd_, o.fd_);
    std::swap(created_, o.created_);
    return *this;
}

BlockStore::~BlockStore()
{
    if (fd_ >= 0) ::close(fd_);
}

BlockStore BlockStore::create(const std::string& path, const BlockGrid& grid, std::int64_t channels, OutputType type,
                              const Attributes& attributes, const dist::Comm& comm, const NumericAttributes& numeric)
{
    int created = 0;
    dist::root_decides(comm, [&] {
        io::AtomicFile out(path);
        {
            io::Hdf5File f = io::Hdf5File::create(out.temp_path());
            io::Hdf5WriteOptions o;
            o.gzip_level = 0;
            o.chunk = grid.block_size();
            o.chunk_all_channels = true;
            o.allocate_early = true;
            const std::int64_t chunk_bytes = channels * grid.block_size().z * grid.block_size().y *
                                             grid.block_size().x *
                                             static_cast<std::int64_t>(core::dtype_size(dtype_of(type)));
            if (chunk_bytes >= (std::int64_t(1) << 32))
                throw core::InputError("a block of " + core::to_string(grid.block_size()) + " x " +
                                       std::to_string(channels) +
                                       " channels exceeds HDF5's 4 GiB chunk limit: choose a smaller forward_outsz")
                    .at(path);
            {
                io::Hdf5Dataset main = io::Hdf5Dataset::create(f, "/main", dtype_of(type), {channels, grid.output()}, 4, o);
                for (const auto& [name, value] : attributes) main.set_attribute(name, value);
                for (const auto& [name, values] : numeric) main.set_attribute(name, values);
            }
            const std::vector<std::uint64_t> zeros(static_cast<std::size_t>(grid.count()), 0);
            f.write_array(kRecord, core::DType::UInt64, {grid.count()}, zeros.data());
            for (const auto& [name, value] : attributes) f.set_attribute(name, value);
            f.close();
        }
        created = out.commit_if_absent() ? 1 : 0;  // another job (a shard of a job array) may have come first
    });
    created = comm.broadcast_value(created);
    BlockStore store = open(
        path, grid, channels, type,
        [&] {
            std::vector<std::string> names;
            for (const auto& [name, value] : attributes)
                names.push_back(name);
            return names;
        }(),
        comm);
    store.created_ = created != 0;
    return store;
}

BlockStore BlockStore::open(const std::string& path, const BlockGrid& grid, std::int64_t channels, OutputType type,
                            const std::vector<std::string>& names, const dist::Comm& comm)
{
    BlockStore s(path, grid, channels, type, comm);
    const std::size_t n = static_cast<std::size_t>(grid.count());
    s.chunk_address_.assign(n, 0);
    s.record_.assign(n, 0);
    std::string attribute_text;  // name \0 value \0 ..., for the broadcast
    dist::root_decides(comm, [&] {
        const io::Hdf5File f = io::Hdf5File::open(path, io::FileMode::Read);
        const io::Hdf5Dataset main = io::Hdf5Dataset::open(f, "/main");
        const io::DatasetInfo& info = main.info();
        const std::vector<std::int64_t> chunks{channels, grid.block_size().z, grid.block_size().y, grid.block_size().x};
        if (info.dims.size() != 4 || info.shape != tensor::Shape4{channels, grid.output()} || info.chunks != chunks ||
            info.dtype != dtype_of(type) || info.gzip_level != 0)
            throw core::InputError("is not the unfinished output of this job (its /main has shape " +
                                   tensor::to_string(info.shape) + ", type " +
                                   std::string(core::to_string(info.dtype)) + "; this job writes " +
                                   tensor::to_string(tensor::Shape4{channels, grid.output()}) + " in blocks of " +
                                   core::to_string(grid.block_size()) + "): remove it or run with --overwrite")
                .at(path);
        const auto record = f.read_array(kRecord);
        const auto record_address = f.contiguous_address(kRecord);
        if (!record || record->dims != std::vector<std::int64_t>{grid.count()} ||
            record->dtype != core::DType::UInt64 || !record_address)
            throw core::InputError("has no block record " + std::string(kRecord) + " for " +
                                   std::to_string(grid.count()) + " blocks: remove it or run with --overwrite")
                .at(path);
        // Read back as exact integers (read_array converts to double).
        for (std::size_t i = 0; i < n; ++i)
            s.record_[i] = static_cast<std::uint64_t>(record->values[i] != 0 ? 1 : 0);
        s.record_address_ = *record_address;
        for (std::size_t i = 0; i < n; ++i) {
            const auto a = main.chunk_address(grid.block(static_cast<std::int64_t>(i)).owned.origin);
            if (!a)
                throw core::InputError("block " + std::to_string(i) +
                                       " of /main has no storage: remove it or run with --overwrite")
                    .at(path);
            s.chunk_address_[i] = *a;
        }
        for (const std::string& name : names) {
            const auto v = f.string_attribute(name);
            if (!v) continue;
            s.attributes_[name] = *v;
            attribute_text += name;
            attribute_text.push_back('\0');
            attribute_text += *v;
            attribute_text.push_back('\0');
        }
    });
    comm.broadcast(std::span<std::int64_t>(s.chunk_address_));
    comm.broadcast(std::span<std::uint64_t>(s.record_));
    s.record_address_ = comm.broadcast_value(s.record_address_);
    comm.broadcast(attribute_text);
    if (!comm.is_root()) {
        for (std::size_t i = 0; i < attribute_text.size();) {
            const std::size_t a = attribute_text.find('\0', i), b = attribute_text.find('\0', a + 1);
            s.attributes_[attribute_text.substr(i, a - i)] = attribute_text.substr(a + 1, b - a - 1);
            i = b + 1;
        }
    }
    s.open_descriptor();
    return s;
}

void BlockStore::open_descriptor()
{
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
        const std::string reason = system_reason();
        throw core::IoError("cannot open for writing: " + reason)
            .at(path_)
            .scope(core::ErrorScope::ThisRank)
            .on_rank(comm_.rank());
    }
}

std::vector<std::int64_t> BlockStore::missing() const
{
    std::vector<std::int64_t> m;
    for (std::size_t i = 0; i < record_.size(); ++i)
        if (record_[i] == 0) m.push_back(static_cast<std::int64_t>(i));
    return m;
}

std::int64_t BlockStore::finished_count() const
{
    return static_cast<std::int64_t>(
        std::count_if(record_.begin(), record_.end(), [](std::uint64_t v) { return v != 0; }));
}

void BlockStore::write_block(const Block& b, tensor::TensorView<const float> window)
{
    const Vec3i W = grid_.block_size();
    ZNN_CHECK(window.channels() == channels_ && window.size() == W,
              "BlockStore::write_block: window of the wrong shape");
    const std::size_t esize = core::dtype_size(dtype_of(type_));
    const std::int64_t voxels = W.z * W.y * W.x;
    std::vector<unsigned char> chunk(static_cast<std::size_t>(channels_ * voxels) * esize, 0);
    const Box3 kept = b.kept();
    for (std::int64_t c = 0; c < channels_; ++c)
        for (std::int64_t z = 0; z < kept.size.z; ++z)
            for (std::int64_t y = 0; y < kept.size.y; ++y) {
                const float* src = window.row(c, kept.origin.z + z, kept.origin.y + y) + kept.origin.x;
                const std::size_t at =
                    static_cast<std::size_t>((c * W.z + z) * W.y + y) * static_cast<std::size_t>(W.x);
                if (type_ == OutputType::Float32) {
                    std::memcpy(chunk.data() + at * esize, src, static_cast<std::size_t>(kept.size.x) * sizeof(float));
                } else {
                    for (std::int64_t x = 0; x < kept.size.x; ++x)
                        chunk[at + static_cast<std::size_t>(x)] = static_cast<unsigned char>(
                            std::lround(255.0f * std::clamp(std::isnan(src[x]) ? 0.0f : src[x], 0.0f, 1.0f)));
                }
            }
    const std::size_t i = static_cast<std::size_t>(b.index);
    pwrite_all(fd_, chunk.data(), chunk.size(), chunk_address_[i], path_);
    if (::fdatasync(fd_) != 0) throw core::IoError("cannot flush a block to disk: " + system_reason()).at(path_);
    std::uint64_t sum = core::Hash64().add(chunk.data(), chunk.size()).value();
    if (sum == 0) sum = 1;
    pwrite_all(fd_, &sum, sizeof sum, record_address_ + static_cast<std::int64_t>(i * sizeof sum), path_);
    record_[i] = sum;
}

std::vector<unsigned char> BlockStore::read_chunk(const Block& b) const
{
    const Vec3i W = grid_.block_size();
    std::vector<unsigned char> chunk(static_cast<std::size_t>(channels_ * W.z * W.y * W.x) *
                                     core::dtype_size(dtype_of(type_)));
    pread_all(fd_, chunk.data(), chunk.size(), chunk_address_[static_cast<std::size_t>(b.index)], path_);
    return chunk;
}

void BlockStore::finish(const std::string& final_path, const io::Hdf5WriteOptions& hdf5, const Attributes& attributes,
                        const std::map<std::string, std::vector<double>>& numeric_attributes)
{
    // Every rank's writes are durable (write_block flushed them); the record of other ranks' blocks
    // is on disk, not in this process: read it back.
    comm_.barrier();
    std::vector<std::uint64_t> record(record_.size());
    pread_all(fd_, record.data(), record.size() * sizeof(std::uint64_t), record_address_, path_);
    const bool complete = std::none_of(record.begin(), record.end(), [](std::uint64_t v) { return v == 0; });
    if (!comm_.all(complete)) throw core::InternalError("BlockStore::finish: some blocks are not finished");

    if (hdf5.gzip_level == 0) {
        // Uncompressed: the store is the output (its chunks are the blocks, its attributes were written at
        // creation); renamed into place, no copy.
        dist::root_decides(comm_, [&] {
            std::error_code ec;
            std::filesystem::rename(path_, final_path, ec);
            if (ec) throw core::IoError("cannot rename " + path_ + " into place: " + ec.message()).at(final_path);
            const std::string dir = std::filesystem::path(final_path).parent_path().string();
            const int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (d >= 0) {
                ::fsync(d);
                ::close(d);
            }
        });
        return;
    }
    const int R = comm_.is_serial() ? 1 : comm_.size(), r = comm_.is_serial() ? 0 : comm_.rank();
    const core::DType dtype = dtype_of(type_);
    const Vec3i W = grid_.block_size();
    {
        io::AtomicFile out(final_path, comm_);
        {
            io::Hdf5File f = io::Hdf5File::create(out.temp_path(), comm_);
            io::Hdf5WriteOptions o = hdf5;
            o.chunk = output_chunk(W);
            {
                io::Hdf5Dataset main = io::Hdf5Dataset::create(f, "/main", dtype, {channels_, grid_.output()}, 4, o);
                const std::int64_t rounds = (grid_.count() + R - 1) / R;
                for (std::int64_t k = 0; k < rounds; ++k) {
                    const std::int64_t index = k * R + r;
                    if (index >= grid_.count()) {
                        if (dtype == core::DType::UInt8)
                            main.write<std::uint8_t>(Box3{}, tensor::TensorView<const std::uint8_t>());
                        else
                            main.write<float>(Box3{}, tensor::TensorView<const float>());
                        continue;
                    }
                    const Block b = grid_.block(index);
                    const std::vector<unsigned char> chunk = read_chunk(b);
                    const tensor::Shape4 stored{channels_, W};
                    if (dtype == core::DType::UInt8) {
                        const tensor::TensorView<const std::uint8_t> v(chunk.data(), stored);
                        main.write<std::uint8_t>(b.owned, v.box({Vec3i{}, b.owned.size}));
                    } else {
                        const tensor::TensorView<const float> v(reinterpret_cast<const float*>(chunk.data()), stored);
                        main.write<float>(b.owned, v.box({Vec3i{}, b.owned.size}));
                    }
                }
                for (const auto& [name, value] : attributes) {
                    f.set_attribute(name, value);
                    main.set_attribute(name, value);
                }
                for (const auto& [name, values] : numeric_attributes)
                    main.set_attribute(name, values);
            }
            f.close();
        }
        out.commit();
    }
    comm_.barrier();
    if (comm_.is_root()) {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
}

}  // namespace znn::infer
