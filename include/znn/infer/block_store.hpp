#pragma once
/// @file
/// @brief BlockStore: the output of a forward run while it is computed, which survives kill -9 at
/// any moment and records which blocks are finished.
///
/// HDF5 files are not crash-safe by themselves: metadata a process was writing when it died can
/// leave the file unreadable. A store is therefore an HDF5 file whose metadata is final before any
/// block is written:
///  - `/main` (C, Z, Y, X), uncompressed, chunked one chunk per block (C, W) with every chunk
///    allocated at creation, and `/znn_forward_blocks`, one uint64 per block (0: not finished; else
///    the block's checksum), also allocated; the caller's attributes (network hash, configuration);
///  - it is built under a temporary name, flushed to disk and renamed, so a store either exists
///    complete or not at all;
///  - blocks are then written by every rank directly at their chunks' file offsets (one pwrite per
///    block, no HDF5 call and no metadata change, so ranks never coordinate writes), flushed to
///    stable storage (fdatasync), and only then recorded finished in `/znn_forward_blocks`.
/// A kill at any moment leaves a readable file in which every block recorded finished is complete;
/// a block that was being written is not recorded and is computed again. finish() then writes the
/// compressed output file from the store, in parallel (collective parallel HDF5, each rank its share
/// of the blocks), atomically, and removes the store.
///
/// Threads: write_block() and read_block() may run on another thread than the one making MPI calls;
/// they make none. One writer per block.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "znn/core/dtype.hpp"
#include "znn/dist/comm.hpp"
#include "znn/infer/block_grid.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::infer {

/// Root attributes of a store and of its output (name -> text).
using Attributes = std::map<std::string, std::string>;
/// Numeric attributes of the output's /main (e.g. `resolution`).
using NumericAttributes = std::map<std::string, std::vector<double>>;

/// How values are stored.
enum class OutputType {
    Float32,
    UInt8,  ///< round(255 · clamp(v, 0, 1)): probabilities and affinities, 4× smaller
};

class BlockStore {
public:
    /// Creates a new store at `path` for `grid` and `channels` channels, with `attributes` on the root
    /// and on /main and `numeric` on /main. Never replaces a file there: when another process created
    /// `path` first (the shards of a job array start together), that store is opened instead, as
    /// open() would, and created() is false. Collective (rank 0 writes it, every rank then opens it).
    static BlockStore create(const std::string& path, const BlockGrid& grid, std::int64_t channels, OutputType type,
                             const Attributes& attributes, const dist::Comm& comm, const NumericAttributes& numeric = {});
    /// Opens the existing store at `path`, reading the attributes named `names`. Collective. InputError
    /// naming the file if it is not a store of `grid` with `channels` channels of `type`.
    static BlockStore open(const std::string& path, const BlockGrid& grid, std::int64_t channels, OutputType type,
                           const std::vector<std::string>& names, const dist::Comm& comm);

    BlockStore(BlockStore&& other) noexcept;
    BlockStore& operator=(BlockStore&& other) noexcept;
    BlockStore(const BlockStore&) = delete;
    BlockStore& operator=(const BlockStore&) = delete;
    ~BlockStore();

    const std::string& path() const noexcept { return path_; }
    const Attributes& attributes() const noexcept { return attributes_; }
    /// Whether create() made this store (false: it was opened, or another process created it first).
    bool created() const noexcept { return created_; }
    /// The blocks not yet recorded finished (as of open or create, plus this process's writes), in order.
    std::vector<std::int64_t> missing() const;
    std::int64_t finished_count() const;

    /// Stores block `b` from `window`, the (C, W) output its forward pass computed (only b.kept() is
    /// kept), makes it durable, then records it finished. IoError naming the file on failure.
    void write_block(const Block& b, tensor::TensorView<const float> window);

    /// Writes the output file `final_path` from the finished store: `/main` (C, Z, Y, X), chunked in
    /// chunks that divide the block, compressed with `hdf5`, with `attributes` on the root and on
    /// `/main`; atomically. Then removes the store. Collective; every block must be finished. With
    /// `hdf5.gzip_level` 0 the store itself, uncompressed in chunks of one block and holding its
    /// creation's attributes, is renamed to `final_path` instead (no copy).
    void finish(const std::string& final_path, const io::Hdf5WriteOptions& hdf5, const Attributes& attributes,
                const std::map<std::string, std::vector<double>>& numeric_attributes);

private:
    BlockStore(std::string path, const BlockGrid& grid, std::int64_t channels, OutputType type, const dist::Comm& comm);
    void open_descriptor();
    /// Reads block `b`'s chunk (C, W) as stored.
    std::vector<unsigned char> read_chunk(const Block& b) const;

    std::string path_;
    BlockGrid grid_;
    std::int64_t channels_;
    OutputType type_;
    dist::Comm comm_;
    Attributes attributes_;
    std::vector<std::int64_t> chunk_address_;
    std::int64_t record_address_ = 0;
    std::vector<std::uint64_t> record_;
    int fd_ = -1;
    bool created_ = false;
};

/// The chunk shape of an output written in blocks of `block`: per axis a divisor of the block of at
/// most 64 voxels (512 in y and x for 2D blocks), or the block itself when it has no divisor of at
/// least a quarter of that.
Vec3i output_chunk(const Vec3i& block);

}  // namespace znn::infer
