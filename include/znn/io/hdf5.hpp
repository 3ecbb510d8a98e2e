#pragma once
/// @file
/// @brief HDF5 volumes: serial or parallel (MPI-IO) files, datasets of any numeric type, sub-box
/// (hyperslab) reads and writes, chunked gzip-compressed output.
///
/// Datasets map to 4D tensors (c, z, y, x) by their number of dimensions: (y, x) is one slice,
/// (z, y, x) one channel, (c, z, y, x) as is; any other rank is an InputError. Element types are
/// converted by HDF5 on read and write, so a uint8 dataset can be read straight into floats.
///
/// Parallel I/O: a file opened or created with a non-serial Comm uses the MPI-IO driver and every
/// call on it is collective over that Comm (all ranks call, in the same order). Each rank then reads
/// or writes its own box of the shared dataset with Transfer::Collective, passing an empty box when
/// it has nothing to do. Writes into compressed datasets of a parallel file are always collective
/// (HDF5 requires it).
///
/// Threads: the HDF5 library installed here is not thread-safe; every function of this module holds
/// one process-wide lock while it calls HDF5.
///
/// Errors: a missing file, a file that is not HDF5 or is truncated, a missing dataset (the message
/// lists the datasets the file does have), a wrong rank or an unsupported element type throw
/// InputError located at `path:/dataset`; a failure while writing throws IoError. HDF5's own error
/// stack is never printed; its innermost messages are appended to ours.
///
/// Example:
/// @code
///   Hdf5File file = Hdf5File::open("train.h5", FileMode::Read);
///   Hdf5Dataset raw = Hdf5Dataset::open(file, "/volumes/raw");
///   Tensor<float> block(raw.info().shape.c, {32, 128, 128});
///   raw.read(Box3{{0, 0, 0}, {32, 128, 128}}, block.view());
/// @endcode

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "znn/core/dtype.hpp"
#include "znn/dist/comm.hpp"
#include "znn/tensor/any_tensor.hpp"

namespace znn::io {

using core::Box3;
using core::Vec3i;

enum class FileMode { Read, ReadWrite };
/// How a rank takes part in a data transfer on a parallel file.
enum class Transfer { Independent, Collective };

/// @brief What a dataset holds.
struct DatasetInfo {
    core::DType dtype = core::DType::Float32;
    std::vector<std::int64_t> dims;    ///< dimensions as stored (2, 3 or 4 of them)
    tensor::Shape4 shape;              ///< the same as (c, z, y, x)
    std::vector<std::int64_t> chunks;  ///< chunk dimensions, empty for contiguous storage
    int gzip_level = 0;                ///< deflate level, 0 when not compressed
};

/// @brief How new datasets are stored.
struct Hdf5WriteOptions {
    /// Deflate level 0-9; 0 stores uncompressed. Level 1 is close to level 4's ratio on EM data at
    /// a fraction of its cost, hence the default.
    int gzip_level = 1;
    /// Spatial chunk shape (z, y, x); unset picks about 256 Ki elements per chunk (e.g. 1×64³ for
    /// volumes, 1×1×512×512 for images). Channels are chunked one at a time.
    std::optional<Vec3i> chunk;
    /// One chunk spans every channel (c, z, y, x) instead of one channel (1, z, y, x).
    bool chunk_all_channels = false;
    /// Allocate every chunk when the dataset is created (always so in parallel files), so that later
    /// writes of an uncompressed dataset change no metadata and chunk_address() knows every chunk.
    bool allocate_early = false;
};

/// Whether `path` is a regular file in HDF5 format.
bool is_hdf5_file(const std::string& path);

/// @brief An open HDF5 file (move-only; closed by the destructor).
class Hdf5File {
public:
    /// Opens an existing file. With a non-serial comm: collective, MPI-IO driver.
    static Hdf5File open(const std::string& path, FileMode mode, const dist::Comm& comm = dist::Comm::serial());
    /// Creates a new file, truncating any existing one. With a non-serial comm: collective.
    static Hdf5File create(const std::string& path, const dist::Comm& comm = dist::Comm::serial());
    /// Creates a file in memory only (HDF5's core driver, nothing on disk); `name` is for messages.
    /// Its bytes, image(), are written by the caller: an I/O failure (a full disk) then happens in
    /// the caller's write, never inside HDF5 (whose 1.10 series crashes at exit on a file it failed
    /// to flush).
    static Hdf5File create_in_memory(const std::string& name);
    /// The complete file as bytes (flushes first). Files made by create_in_memory().
    std::vector<unsigned char> image() const;

    Hdf5File(Hdf5File&& other) noexcept;
    Hdf5File& operator=(Hdf5File&& other) noexcept;
    ~Hdf5File();

    const std::string& path() const noexcept { return path_; }
    bool is_parallel() const noexcept { return !comm_.is_serial(); }
    const dist::Comm& comm() const noexcept { return comm_; }
    /// The raw hid_t (for code in src/io only).
    std::int64_t id() const noexcept { return id_; }

    /// True if `name` exists and is a dataset.
    bool has_dataset(std::string_view name) const;
    /// Paths of every dataset in the file, sorted ("/main", "/volumes/raw", ...).
    std::vector<std::string> list_datasets() const;

    // Small objects of any layout (network files): scalar strings and numeric arrays of any rank,
    // in groups. Serial files only.

    /// True if `path` exists and is a group.
    bool has_group(std::string_view path) const;
    /// Names (not paths) of the groups, or of the datasets, directly inside group `path`, sorted.
    std::vector<std::string> list_groups(std::string_view path) const;
    std::vector<std::string> list_members(std::string_view path) const;
    /// Writes a scalar fixed-length ASCII string dataset (as numpy's bytes strings), creating groups.
    void write_string(std::string_view path, std::string_view value);
    /// A scalar string dataset (fixed or variable length), or nullopt if `path` is not one.
    std::optional<std::string> read_string(std::string_view path) const;
    /// Writes a contiguous numeric array of the given dims (C order), creating groups.
    void write_array(std::string_view path, core::DType dtype, const std::vector<std::int64_t>& dims, const void* data);
    /// @brief A numeric array, its values converted to double.
    struct Array {
        core::DType dtype = core::DType::Float32;
        std::vector<std::int64_t> dims;
        std::vector<double> values;
    };
    /// The dimensions of the dataset at `path` (nullopt if there is none), without reading it.
    std::optional<std::vector<std::int64_t>> array_dims(std::string_view path) const;
    /// The numeric dataset at `path` (nullopt if absent); InputError if it is not numeric, or larger
    /// than core::kMaxElements.
    std::optional<Array> read_array(std::string_view path) const;

    /// The byte offset in the file of the contiguous, allocated dataset `path` (nullopt if it is
    /// chunked, compact or not yet allocated), for raw writes that bypass HDF5 (see
    /// Hdf5Dataset::chunk_address). Serial files only.
    std::optional<std::int64_t> contiguous_address(std::string_view path) const;

    /// Makes the object at `from` appear at `to` instead, replacing what `to` named (one link change:
    /// a reader sees the old object or the new one). Serial files only.
    void replace_link(std::string_view from, std::string_view to);

    /// Writes a string attribute on the root group, replacing an existing one. Collective if parallel.
    void set_attribute(std::string_view name, std::string_view value);
    std::optional<std::string> string_attribute(std::string_view name) const;

    /// Flushes and closes now (the destructor would, but cannot report errors). Collective if parallel.
    /// Datasets of a parallel file must be closed (destroyed) first.
    void close();

private:
    Hdf5File(std::int64_t id, std::string path, const dist::Comm& comm) : id_(id), path_(std::move(path)), comm_(comm)
    {
    }

    std::int64_t id_ = -1;
    std::string path_;
    dist::Comm comm_ = dist::Comm::serial();
};

/// @brief An open dataset of a 2D, 3D or 4D numeric array (move-only).
class Hdf5Dataset {
public:
    /// Opens dataset `name` of `file` (InputError at path:/name if missing or unsuitable).
    static Hdf5Dataset open(const Hdf5File& file, std::string_view name);
    /// Creates dataset `name` (and missing parent groups) of the given type and shape, stored as an
    /// array of `ndim` dimensions (2: y,x with shape.c == 1 and z == 1; 3: z,y,x with shape.c == 1;
    /// 4: c,z,y,x). Collective if the file is parallel.
    static Hdf5Dataset create(Hdf5File& file, std::string_view name, core::DType dtype, const tensor::Shape4& shape,
                              int ndim, const Hdf5WriteOptions& options = {});

    Hdf5Dataset(Hdf5Dataset&& other) noexcept;
    Hdf5Dataset& operator=(Hdf5Dataset&& other) noexcept;
    ~Hdf5Dataset();

    const DatasetInfo& info() const noexcept { return info_; }
    /// "path:/name", for messages.
    std::string location() const { return path_ + ":" + name_; }

    /// Reads channels [first_channel, first_channel + dst.channels()) of spatial box `box` into dst
    /// (dst.size() must equal box.size), converting to T. The box must lie inside the dataset.
    template <class T>
    void read(const Box3& box, tensor::TensorView<T> dst, Transfer transfer = Transfer::Independent,
              std::int64_t first_channel = 0) const
    {
        read_raw(box, first_channel, dst.channels(), core::dtype_of<T>(), dst, transfer);
    }
    /// The whole dataset in its own element type (with its ndim).
    tensor::AnyTensor read_all() const;
    /// All channels of `box` in the dataset's element type.
    tensor::AnyTensor read_box(const Box3& box, Transfer transfer = Transfer::Independent) const;

    /// Writes src into channels [first_channel, ...) of spatial box `box`, converting from T.
    template <class T>
    void write(const Box3& box, tensor::TensorView<const T> src, Transfer transfer = Transfer::Independent,
               std::int64_t first_channel = 0)
    {
        write_raw(box, first_channel, src.channels(), core::dtype_of<T>(), src, transfer);
    }
    /// Writes a whole tensor of any type at `box.origin` (box.size = t.shape().zyx), all channels.
    void write_any(const Vec3i& origin, const tensor::AnyTensor& t, Transfer transfer = Transfer::Independent);

    /// The byte offset in the file of the allocated chunk holding voxel `voxel` (channel 0) of an
    /// unfiltered chunked dataset; nullopt if that chunk is not allocated. Its bytes are the chunk's
    /// elements in C order, in the dataset's native (here little-endian) type, edge chunks at full
    /// size: a process may rewrite them with pwrite and no HDF5 call, and no metadata changes.
    std::optional<std::int64_t> chunk_address(const Vec3i& voxel) const;

    /// Writes a string attribute on the dataset. Collective if the file is parallel.
    void set_attribute(std::string_view name, std::string_view value);
    /// Writes a float64 array attribute (e.g. `resolution`). Collective if the file is parallel.
    void set_attribute(std::string_view name, const std::vector<double>& values);
    std::optional<std::string> string_attribute(std::string_view name) const;
    /// A numeric attribute (integers or floats, scalar or a short array, e.g. CREMI's `resolution`)
    /// as doubles; nullopt if absent or not numeric.
    std::optional<std::vector<double>> numeric_attribute(std::string_view name) const;

private:
    Hdf5Dataset() = default;

    template <class T>
    void read_raw(const Box3& box, std::int64_t c0, std::int64_t nc, core::DType mem_type, tensor::TensorView<T> dst,
                  Transfer transfer) const;
    template <class T>
    void write_raw(const Box3& box, std::int64_t c0, std::int64_t nc, core::DType mem_type,
                   tensor::TensorView<const T> src, Transfer transfer);
    /// Transfers a contiguous buffer of nc × box.size elements of mem_type.
    void transfer_contiguous(bool is_write, const Box3& box, std::int64_t c0, std::int64_t nc, core::DType mem_type,
                             void* buffer, Transfer transfer) const;

    std::int64_t id_ = -1;
    std::string path_;
    std::string name_;
    DatasetInfo info_;
    bool parallel_ = false;
};

/// The HDF5 library version, e.g. "1.10.8".
std::string hdf5_version();

// ---- template definitions ----------------------------------------------------------------------

template <class T>
void Hdf5Dataset::read_raw(const Box3& box, std::int64_t c0, std::int64_t nc, core::DType mem_type,
                           tensor::TensorView<T> dst, Transfer transfer) const
{
    ZNN_CHECK(dst.size() == box.size, "Hdf5Dataset::read: destination size differs from the box");
    if (dst.is_contiguous()) {
        transfer_contiguous(false, box, c0, nc, mem_type, dst.data(), transfer);
        return;
    }
    tensor::Tensor<T> tmp(dst.shape(), core::Init::Uninitialized);
    transfer_contiguous(false, box, c0, nc, mem_type, tmp.data(), transfer);
    tensor::copy(tmp.cview(), dst);
}

template <class T>
void Hdf5Dataset::write_raw(const Box3& box, std::int64_t c0, std::int64_t nc, core::DType mem_type,
                            tensor::TensorView<const T> src, Transfer transfer)
{
    ZNN_CHECK(src.size() == box.size, "Hdf5Dataset::write: source size differs from the box");
    if (src.is_contiguous()) {
        transfer_contiguous(true, box, c0, nc, mem_type, const_cast<T*>(src.data()), transfer);
        return;
    }
    tensor::Tensor<T> tmp(src.shape(), core::Init::Uninitialized);
    tensor::copy(src, tmp.view());
    transfer_contiguous(true, box, c0, nc, mem_type, tmp.data(), transfer);
}

}  // namespace znn::io
