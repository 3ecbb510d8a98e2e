#include "znn/io/hdf5.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <type_traits>

#include "znn/core/error.hpp"
#include "znn/core/limits.hpp"
#include "znn/core/memory.hpp"
#include "znn/dist/agree.hpp"

static_assert(std::is_same_v<hid_t, std::int64_t>, "znn stores hid_t as int64_t");

namespace znn::io {
namespace {

using core::DType;
using core::ErrorKind;

// ---- library-wide state: the lock (HDF5 here is not thread-safe) and the silenced error printer ----

std::recursive_mutex& hdf5_mutex()
{
    static std::recursive_mutex m;
    return m;
}

struct Hdf5Lock {
    std::lock_guard<std::recursive_mutex> guard{hdf5_mutex()};
    Hdf5Lock()
    {
        static std::once_flag once;
        std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
    }
};

/// The innermost messages of HDF5's error stack ("truncated file: eof = ..."), then clears it.
std::string take_error_stack()
{
    std::vector<std::string> messages;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_UPWARD,
        [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
            auto& out = *static_cast<std::vector<std::string>*>(data);
            if (e->desc && *e->desc && out.size() < 2) out.emplace_back(e->desc);
            return 0;
        },
        &messages);
    H5Eclear2(H5E_DEFAULT);
    std::string text;
    for (const auto& m : messages) {
        if (!text.empty()) text += "; ";
        text += m;
    }
    return text;
}

[[noreturn]] void fail(ErrorKind kind, const std::string& path, std::string_view dataset, const std::string& what)
{
    std::string message = what;
    const std::string stack = take_error_stack();
    if (!stack.empty()) message += " (HDF5: " + stack + ")";
    std::string where = path;
    if (!dataset.empty()) where += ":" + std::string(dataset);
    core::throw_error(kind, message, where, core::ErrorScope::ThisRank);
}

/// Owns any HDF5 identifier and closes it with the right function.
class Handle {
public:
    explicit Handle(hid_t id = -1) : id_(id) {}
    Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)) {}
    Handle& operator=(Handle&& o) noexcept
    {
        std::swap(id_, o.id_);
        return *this;
    }
    ~Handle() { reset(); }
    void reset()
    {
        if (id_ < 0) return;
        switch (H5Iget_type(id_)) {
            case H5I_FILE: H5Fclose(id_); break;
            case H5I_GROUP: H5Gclose(id_); break;
            case H5I_DATASET: H5Dclose(id_); break;
            case H5I_DATASPACE: H5Sclose(id_); break;
            case H5I_DATATYPE: H5Tclose(id_); break;
            case H5I_ATTR: H5Aclose(id_); break;
            case H5I_GENPROP_LST: H5Pclose(id_); break;
            default: break;
        }
        id_ = -1;
    }
    hid_t get() const { return id_; }
    hid_t release() { return std::exchange(id_, -1); }
    bool valid() const { return id_ >= 0; }

private:
    hid_t id_;
};

hid_t native_type(DType t)
{
    switch (t) {
        case DType::UInt8: return H5T_NATIVE_UINT8;
        case DType::Int8: return H5T_NATIVE_INT8;
        case DType::UInt16: return H5T_NATIVE_UINT16;
        case DType::Int16: return H5T_NATIVE_INT16;
        case DType::UInt32: return H5T_NATIVE_UINT32;
        case DType::Int32: return H5T_NATIVE_INT32;
        case DType::UInt64: return H5T_NATIVE_UINT64;
        case DType::Int64: return H5T_NATIVE_INT64;
        case DType::Float32: return H5T_NATIVE_FLOAT;
        case DType::Float64: return H5T_NATIVE_DOUBLE;
    }
    throw core::InternalError("native_type: bad DType");
}

/// The DType of an HDF5 integer or float type; nullopt for anything else.
std::optional<DType> dtype_of_h5(hid_t type)
{
    const H5T_class_t cls = H5Tget_class(type);
    const size_t size = H5Tget_size(type);
    if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
            case 1: return is_signed ? DType::Int8 : DType::UInt8;
            case 2: return is_signed ? DType::Int16 : DType::UInt16;
            case 4: return is_signed ? DType::Int32 : DType::UInt32;
            case 8: return is_signed ? DType::Int64 : DType::UInt64;
            default: return std::nullopt;
        }
    }
    if (cls == H5T_FLOAT) {
        if (size == 4) return DType::Float32;
        if (size == 8) return DType::Float64;
    }
    return std::nullopt;
}

std::string describe_h5_type(hid_t type)
{
    switch (H5Tget_class(type)) {
        case H5T_INTEGER: return std::to_string(8 * H5Tget_size(type)) + "-bit integer";
        case H5T_FLOAT: return std::to_string(8 * H5Tget_size(type)) + "-bit float";
        case H5T_STRING: return "string";
        case H5T_COMPOUND: return "compound (record)";
        case H5T_ENUM: return "enum";
        case H5T_ARRAY: return "array";
        case H5T_VLEN: return "variable-length";
        case H5T_OPAQUE: return "opaque";
        case H5T_REFERENCE: return "reference";
        case H5T_BITFIELD: return "bitfield";
        default: return "unknown";
    }
}

tensor::Shape4 shape_from_dims(const std::vector<std::int64_t>& d)
{
    switch (d.size()) {
        case 2: return {1, {1, d[0], d[1]}};
        case 3: return {1, {d[0], d[1], d[2]}};
        default: return {d[0], {d[1], d[2], d[3]}};
    }
}

std::vector<std::int64_t> dims_from_shape(const tensor::Shape4& s, int ndim)
{
    switch (ndim) {
        case 2: return {s.zyx.y, s.zyx.x};
        case 3: return {s.zyx.z, s.zyx.y, s.zyx.x};
        default: return {s.c, s.zyx.z, s.zyx.y, s.zyx.x};
    }
}

std::string dims_text(const std::vector<std::int64_t>& d)
{
    std::string t = "(";
    for (std::size_t i = 0; i < d.size(); ++i)
        t += (i ? ", " : "") + std::to_string(d[i]);
    return t + ")";
}

/// A chunk of about 256 Ki elements: up to 64 in z, the rest spread over y and x.
Vec3i default_chunk(const Vec3i& size)
{
    constexpr std::int64_t kBudget = 1 << 18;
    Vec3i c;
    c.z = std::min<std::int64_t>(size.z, 64);
    const std::int64_t plane = kBudget / c.z;
    const auto side = static_cast<std::int64_t>(std::sqrt(static_cast<double>(plane)));
    c.y = std::min(size.y, side);
    c.x = std::min(size.x, plane / std::max<std::int64_t>(c.y, 1));
    return max(c, Vec3i::all(1));
}

std::string normalized_dataset_name(std::string_view name)
{
    std::string n(name);
    if (n.empty() || n.front() != '/') n.insert(n.begin(), '/');
    return n;
}

/// Checks before opening, for a clear message instead of HDF5's.
void check_readable_hdf5(const std::string& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw core::InputError("no such file").at(path);
    if (fs::is_directory(path, ec)) throw core::InputError("is a directory, not an HDF5 file").at(path);
    if (::access(path.c_str(), R_OK) != 0) throw core::InputError("permission denied (not readable)").at(path);
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    if (is_hdf5 <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw core::InputError("not an HDF5 file (no HDF5 signature found)").at(path);
    }
}

Handle file_access_plist(const dist::Comm& comm)
{
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    if (!comm.is_serial()) {
        H5Pset_fapl_mpio(fapl.get(), comm.native(), MPI_INFO_NULL);
        H5Pset_all_coll_metadata_ops(fapl.get(), true);
        H5Pset_coll_metadata_write(fapl.get(), true);
    }
    return fapl;
}

void write_string_attribute(hid_t object, std::string_view name, std::string_view value, const std::string& where)
{
    const std::string n(name);
    if (H5Aexists(object, n.c_str()) > 0) H5Adelete(object, n.c_str());
    Handle type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    Handle space(H5Screate(H5S_SCALAR));
    Handle attr(H5Acreate2(object, n.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    const std::string v(value);
    const char* ptr = v.c_str();
    if (!attr.valid() || H5Awrite(attr.get(), type.get(), &ptr) < 0)
        fail(ErrorKind::Io, where, "", "cannot write attribute '" + n + "'");
}

std::optional<std::string> read_string_attribute(hid_t object, std::string_view name)
{
    const std::string n(name);
    if (H5Aexists(object, n.c_str()) <= 0) return std::nullopt;
    Handle attr(H5Aopen(object, n.c_str(), H5P_DEFAULT));
    Handle type(H5Aget_type(attr.get()));
    if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* ptr = nullptr;
        if (H5Aread(attr.get(), mem.get(), &ptr) < 0 || !ptr) return std::nullopt;
        std::string out(ptr);
        H5free_memory(ptr);
        return out;
    }
    const size_t size = H5Tget_size(type.get());
    std::string out(size, '\0');
    if (H5Aread(attr.get(), type.get(), out.data()) < 0) return std::nullopt;
    out.resize(std::strlen(out.c_str()));
    return out;
}

}  // namespace

std::string hdf5_version()
{
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

// ---- Hdf5File -----------------------------------------------------------------------------------

Hdf5File Hdf5File::open(const std::string& path, FileMode mode, const dist::Comm& comm)
{
    dist::root_decides(comm, [&] {
        Hdf5Lock lock;
        check_readable_hdf5(path);
        if (mode == FileMode::ReadWrite && ::access(path.c_str(), W_OK) != 0)
            throw core::InputError("permission denied (not writable)").at(path);
    });
    Hdf5Lock lock;
    Handle fapl = file_access_plist(comm);
    const hid_t id = H5Fopen(path.c_str(), mode == FileMode::Read ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl.get());
    if (id < 0) fail(ErrorKind::Input, path, "", "cannot open the HDF5 file (truncated or corrupt?)");
    return Hdf5File(id, path, comm);
}

Hdf5File Hdf5File::create(const std::string& path, const dist::Comm& comm)
{
    Hdf5Lock lock;
    Handle fapl = file_access_plist(comm);
    const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
    if (id < 0) fail(ErrorKind::Io, path, "", "cannot create the HDF5 file");
    return Hdf5File(id, path, comm);
}

Hdf5File Hdf5File::create_in_memory(const std::string& name)
{
    Hdf5Lock lock;
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_core(fapl.get(), std::size_t(1) << 20, 0);  // grow by 1 MiB; no backing store
    const hid_t id = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
    if (id < 0) fail(ErrorKind::Io, name, "", "cannot create the HDF5 file in memory");
    return Hdf5File(id, name, dist::Comm::serial());
}

std::vector<unsigned char> Hdf5File::image() const
{
    Hdf5Lock lock;
    if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0) fail(ErrorKind::Io, path_, "", "cannot flush the HDF5 file in memory");
    const ssize_t size = H5Fget_file_image(id_, nullptr, 0);
    if (size < 0) fail(ErrorKind::Io, path_, "", "cannot get the file image");
    std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
    if (H5Fget_file_image(id_, bytes.data(), bytes.size()) != size) fail(ErrorKind::Io, path_, "", "cannot get the file image");
    return bytes;
}

Hdf5File::Hdf5File(Hdf5File&& other) noexcept
    : id_(std::exchange(other.id_, -1)), path_(std::move(other.path_)), comm_(other.comm_)
{
}

Hdf5File& Hdf5File::operator=(Hdf5File&& other) noexcept
{
    std::swap(id_, other.id_);
    std::swap(path_, other.path_);
    std::swap(comm_, other.comm_);
    return *this;
}

Hdf5File::~Hdf5File()
{
    if (id_ < 0) return;
    Hdf5Lock lock;
    H5Fclose(id_);
    H5Eclear2(H5E_DEFAULT);
}

namespace {

Handle link_create_plist()
{
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    return lcpl;
}

bool is_object_of_type(hid_t file, const std::string& path, H5O_type_t type)
{
    if (path == "/") return type == H5O_TYPE_GROUP;
    // Every parent must exist for H5Lexists not to fail.
    std::size_t from = 1;
    while (true) {
        const std::size_t slash = path.find('/', from);
        const std::string prefix = path.substr(0, slash);
        if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        if (slash == std::string::npos) break;
        from = slash + 1;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name(file, path.c_str(), &info, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
    }
    return info.type == type;
}

std::vector<std::string> children(hid_t file, const std::string& path, H5O_type_t type)
{
    struct Ctx {
        H5O_type_t type;
        std::vector<std::string> names;
    } ctx{type, {}};
    H5Literate_by_name(
        file, path.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t group, const char* name, const H5L_info_t*, void* data) -> herr_t {
            auto& c = *static_cast<Ctx*>(data);
            H5O_info_t info;
            if (H5Oget_info_by_name(group, name, &info, H5P_DEFAULT) >= 0 && info.type == c.type) c.names.emplace_back(name);
            return 0;
        },
        &ctx, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    std::sort(ctx.names.begin(), ctx.names.end());
    return ctx.names;
}

}  // namespace

bool Hdf5File::has_group(std::string_view path) const
{
    Hdf5Lock lock;
    return is_object_of_type(id_, normalized_dataset_name(path), H5O_TYPE_GROUP);
}

std::vector<std::string> Hdf5File::list_groups(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_GROUP)) return {};
    return children(id_, p, H5O_TYPE_GROUP);
}

std::vector<std::string> Hdf5File::list_members(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_GROUP)) return {};
    return children(id_, p, H5O_TYPE_DATASET);
}

void Hdf5File::write_string(std::string_view path, std::string_view value)
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    Handle type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), std::max<std::size_t>(1, value.size()));
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    Handle space(H5Screate(H5S_SCALAR));
    Handle lcpl = link_create_plist();
    Handle ds(H5Dcreate2(id_, p.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    std::string buffer(value);
    if (buffer.empty()) buffer.push_back('\0');
    if (!ds.valid() || H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
        fail(ErrorKind::Io, path_, p, "cannot write the string dataset");
}

std::optional<std::string> Hdf5File::read_string(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_DATASET)) return std::nullopt;
    Handle ds(H5Dopen2(id_, p.c_str(), H5P_DEFAULT));
    Handle type(H5Dget_type(ds.get()));
    if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
    Handle space(H5Dget_space(ds.get()));
    if (H5Sget_simple_extent_npoints(space.get()) != 1) return std::nullopt;
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* ptr = nullptr;
        if (H5Dread(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &ptr) < 0 || !ptr) fail(ErrorKind::Input, path_, p, "cannot read the string");
        std::string out(ptr);
        H5free_memory(ptr);
        return out;
    }
    std::string out(H5Tget_size(type.get()), '\0');
    if (H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) fail(ErrorKind::Input, path_, p, "cannot read the string");
    out.resize(std::strlen(out.c_str()));
    return out;
}

void Hdf5File::write_array(std::string_view path, core::DType dtype, const std::vector<std::int64_t>& dims, const void* data)
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    std::vector<hsize_t> d(dims.begin(), dims.end());
    Handle space(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
    Handle lcpl = link_create_plist();
    Handle ds(H5Dcreate2(id_, p.c_str(), native_type(dtype), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!ds.valid() || H5Dwrite(ds.get(), native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        fail(ErrorKind::Io, path_, p, "cannot write the array");
}

std::optional<std::int64_t> Hdf5File::contiguous_address(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_DATASET)) return std::nullopt;
    Handle ds(H5Dopen2(id_, p.c_str(), H5P_DEFAULT));
    const haddr_t a = H5Dget_offset(ds.get());
    if (a == HADDR_UNDEF) return std::nullopt;
    return static_cast<std::int64_t>(a);
}

namespace {

/// The dimensions of an open dataset's dataspace.
std::vector<std::int64_t> dataset_dims(hid_t ds)
{
    Handle space(H5Dget_space(ds));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> d(static_cast<std::size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
    return {d.begin(), d.end()};
}

}  // namespace

std::optional<std::vector<std::int64_t>> Hdf5File::array_dims(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_DATASET)) return std::nullopt;
    Handle ds(H5Dopen2(id_, p.c_str(), H5P_DEFAULT));
    return dataset_dims(ds.get());
}

std::optional<Hdf5File::Array> Hdf5File::read_array(std::string_view path) const
{
    Hdf5Lock lock;
    const std::string p = normalized_dataset_name(path);
    if (!is_object_of_type(id_, p, H5O_TYPE_DATASET)) return std::nullopt;
    Handle ds(H5Dopen2(id_, p.c_str(), H5P_DEFAULT));
    Handle type(H5Dget_type(ds.get()));
    const auto dtype = dtype_of_h5(type.get());
    if (!dtype) fail(ErrorKind::Input, path_, p, "expected numbers, found a " + describe_h5_type(type.get()) + " dataset");
    Array a;
    a.dtype = *dtype;
    a.dims = dataset_dims(ds.get());
    std::optional<std::int64_t> n = 1;
    for (const std::int64_t v : a.dims)
        n = n && v >= 0 ? core::checked_mul(*n, v) : std::nullopt;  // a dimension past 2^63 reads as negative
    if (!n || *n > core::kMaxElements) fail(ErrorKind::Input, path_, p, "has dimensions " + dims_text(a.dims) + ": too many elements");
    core::require_memory(double(*n) * 8.0, path_ + ":" + p);
    a.values.resize(static_cast<std::size_t>(*n));
    if (*n > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()) < 0)
        fail(ErrorKind::Input, path_, p, "cannot read the array (truncated or corrupt?)");
    return a;
}

void Hdf5File::replace_link(std::string_view from_in, std::string_view to_in)
{
    ZNN_CHECK(!is_parallel(), "replace_link: serial files only");
    Hdf5Lock lock;
    const std::string from = normalized_dataset_name(from_in), to = normalized_dataset_name(to_in);
    if (H5Lexists(id_, to.c_str(), H5P_DEFAULT) > 0 && H5Ldelete(id_, to.c_str(), H5P_DEFAULT) < 0)
        fail(ErrorKind::Io, path_, to, "cannot replace the dataset");
    if (H5Lmove(id_, from.c_str(), id_, to.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
        fail(ErrorKind::Io, path_, to, "cannot rename " + from + " to it");
}

bool is_hdf5_file(const std::string& path)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    Hdf5Lock lock;
    const htri_t r = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

void Hdf5File::close()
{
    if (id_ < 0) return;
    Hdf5Lock lock;
    // The MPI-IO driver cannot close a file whose datasets are still open (serial HDF5 would defer).
    ZNN_CHECK(
        !is_parallel() || H5Fget_obj_count(id_, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_ATTR | H5F_OBJ_LOCAL) == 0,
        "close every dataset of a parallel HDF5 file before closing the file");
    const herr_t rc = H5Fclose(std::exchange(id_, -1));
    if (rc < 0) fail(ErrorKind::Io, path_, "", "cannot close (flush) the HDF5 file");
}

bool Hdf5File::has_dataset(std::string_view name) const
{
    Hdf5Lock lock;
    const std::string n = normalized_dataset_name(name);
    // Check each path component in turn: H5Lexists fails on a missing intermediate group.
    for (std::size_t pos = n.find('/', 1);; pos = n.find('/', pos + 1)) {
        const std::string prefix = n.substr(0, pos);
        if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        if (pos == std::string::npos) break;
    }
    Handle obj(H5Oopen(id_, n.c_str(), H5P_DEFAULT));
    H5Eclear2(H5E_DEFAULT);
    return obj.valid() && H5Iget_type(obj.get()) == H5I_DATASET;
}

std::vector<std::string> Hdf5File::list_datasets() const
{
    Hdf5Lock lock;
    struct Visit {
        hid_t file;
        std::vector<std::string> names;
    } visit{id_, {}};
    H5Lvisit(
        id_, H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t group, const char* name, const H5L_info_t* info, void* data) -> herr_t {
            if (info->type != H5L_TYPE_HARD) return 0;
            Handle obj(H5Oopen(group, name, H5P_DEFAULT));
            if (obj.valid() && H5Iget_type(obj.get()) == H5I_DATASET)
                static_cast<Visit*>(data)->names.push_back("/" + std::string(name));
            return 0;
        },
        &visit);
    H5Eclear2(H5E_DEFAULT);
    std::sort(visit.names.begin(), visit.names.end());
    return visit.names;
}

void Hdf5File::set_attribute(std::string_view name, std::string_view value)
{
    Hdf5Lock lock;
    Handle root(H5Gopen2(id_, "/", H5P_DEFAULT));
    write_string_attribute(root.get(), name, value, path_);
}

std::optional<std::string> Hdf5File::string_attribute(std::string_view name) const
{
    Hdf5Lock lock;
    Handle root(H5Gopen2(id_, "/", H5P_DEFAULT));
    auto v = read_string_attribute(root.get(), name);
    H5Eclear2(H5E_DEFAULT);
    return v;
}

// ---- Hdf5Dataset --------------------------------------------------------------------------------

namespace {

/// "; it holds the datasets /g/a, /g/b" for the datasets under group `group`, or "" when it holds none.
std::string datasets_in_group_text(const Hdf5File& file, const std::string& group)
{
    std::string listing;
    int shown = 0;
    for (const std::string& d : file.list_datasets()) {
        if (d.rfind(group + "/", 0) != 0) continue;
        if (shown++ == 12) {
            listing += ", ...";
            break;
        }
        listing += (listing.empty() ? "" : ", ") + d;
    }
    return listing.empty() ? "" : "; it holds the datasets " + listing;
}

}  // namespace

Hdf5Dataset Hdf5Dataset::open(const Hdf5File& file, std::string_view name_in)
{
    const std::string name = normalized_dataset_name(name_in);
    if (!file.has_dataset(name)) {
        if (file.has_group(name))
            throw core::InputError("is a group, not a dataset" + datasets_in_group_text(file, name)).at_dataset(file.path(), name);
        const auto all = file.list_datasets();
        std::string listing;
        for (std::size_t i = 0; i < all.size() && i < 12; ++i)
            listing += (i ? ", " : "") + all[i];
        if (all.size() > 12) listing += ", ...";
        throw core::InputError("no such dataset; the file has " +
                               (all.empty() ? std::string("no datasets") : "datasets " + listing))
            .at_dataset(file.path(), name);
    }
    Hdf5Lock lock;
    Handle dapl(H5Pcreate(H5P_DATASET_ACCESS));
    H5Pset_chunk_cache(dapl.get(), 12421, 64u << 20, 1.0);  // 64 MiB: patches cut across many chunks
    Handle ds(H5Dopen2(file.id(), name.c_str(), dapl.get()));
    if (!ds.valid()) fail(ErrorKind::Input, file.path(), name, "cannot open the dataset");

    Hdf5Dataset out;
    out.path_ = file.path();
    out.name_ = name;
    out.parallel_ = file.is_parallel();

    Handle type(H5Dget_type(ds.get()));
    const auto dtype = dtype_of_h5(type.get());
    if (!dtype)
        throw core::InputError("unsupported element type (" + describe_h5_type(type.get()) +
                               "); volumes must hold integers of 8-64 bits or 32/64-bit floats")
            .at_dataset(file.path(), name);
    out.info_.dtype = *dtype;

    Handle space(H5Dget_space(ds.get()));
    const int ndim = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(ndim, 0)));
    if (ndim > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    out.info_.dims.assign(dims.begin(), dims.end());
    if (ndim < 2 || ndim > 4)
        throw core::InputError("has " + std::to_string(ndim) + " dimensions " + dims_text(out.info_.dims) +
                               "; a volume must have 2 (y,x), 3 (z,y,x) or 4 (c,z,y,x)")
            .at_dataset(file.path(), name);
    for (const hsize_t d : dims)
        if (d > static_cast<hsize_t>(core::kMaxAxis))
            throw core::InputError("has dimensions " + dims_text(out.info_.dims) + ", beyond what znn reads (" +
                                   std::to_string(core::kMaxAxis) + " per axis)")
                .at_dataset(file.path(), name);
    out.info_.shape = shape_from_dims(out.info_.dims);
    if (!core::checked_count(out.info_.shape.zyx, out.info_.shape.c))
        throw core::InputError("has dimensions " + dims_text(out.info_.dims) + ": more than " + std::to_string(core::kMaxElements) +
                               " elements, beyond what znn reads")
            .at_dataset(file.path(), name);

    Handle dcpl(H5Dget_create_plist(ds.get()));
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    if (layout == H5D_COMPACT || layout == H5D_CONTIGUOUS) {
        // A damaged file can declare more elements than it stores; HDF5 1.10 then reads past its own
        // buffer (found by fuzzing). Compact data must be all there, contiguous data all or unallocated.
        const hsize_t stored = H5Dget_storage_size(ds.get());
        const hsize_t needed = static_cast<hsize_t>(*core::checked_count(out.info_.shape.zyx, out.info_.shape.c)) * H5Tget_size(type.get());
        if (stored != needed && !(layout == H5D_CONTIGUOUS && stored == 0))
            throw core::InputError("stores " + std::to_string(stored) + " bytes of data, but its shape " + dims_text(out.info_.dims) +
                                   " needs " + std::to_string(needed) + " (a damaged file?)")
                .at_dataset(file.path(), name);
    }
    if (layout == H5D_CHUNKED) {
        std::vector<hsize_t> chunk(dims.size());
        H5Pget_chunk(dcpl.get(), ndim, chunk.data());
        out.info_.chunks.assign(chunk.begin(), chunk.end());
        if (H5Pget_nfilters(dcpl.get()) == 0) {
            // Unfiltered chunks are stored whole; a damaged chunk index can say otherwise, and HDF5 1.10
            // then copies a whole chunk out of the shorter buffer it read (found by fuzzing).
            hsize_t chunk_bytes = H5Tget_size(type.get()), allocated = 0;
            for (const hsize_t c : chunk) chunk_bytes *= c;
            Handle all(H5Dget_space(ds.get()));
            const hsize_t stored = H5Dget_storage_size(ds.get());
            if (H5Dget_num_chunks(ds.get(), all.get(), &allocated) >= 0 && stored != allocated * chunk_bytes)
                throw core::InputError("stores " + std::to_string(stored) + " bytes in " + std::to_string(allocated) +
                                       " uncompressed chunks of " + std::to_string(chunk_bytes) + " bytes (a damaged file?)")
                    .at_dataset(file.path(), name);
        }
        for (int i = 0; i < H5Pget_nfilters(dcpl.get()); ++i) {
            unsigned flags = 0;
            size_t nvalues = 1;
            unsigned values[1] = {0};
            const H5Z_filter_t f =
                H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvalues, values, 0, nullptr, nullptr);
            if (f == H5Z_FILTER_DEFLATE) out.info_.gzip_level = nvalues > 0 ? static_cast<int>(values[0]) : 1;
        }
    }
    out.id_ = ds.release();
    return out;
}

Hdf5Dataset Hdf5Dataset::create(Hdf5File& file, std::string_view name_in, DType dtype, const tensor::Shape4& shape,
                                int ndim, const Hdf5WriteOptions& options)
{
    const std::string name = normalized_dataset_name(name_in);
    ZNN_CHECK(ndim >= 2 && ndim <= 4, "Hdf5Dataset::create: ndim must be 2, 3 or 4");
    ZNN_CHECK(ndim == 4 || shape.c == 1, "Hdf5Dataset::create: several channels need ndim 4");
    ZNN_CHECK(ndim != 2 || shape.zyx.z == 1, "Hdf5Dataset::create: ndim 2 needs z == 1");
    if (options.gzip_level < 0 || options.gzip_level > 9)
        throw core::UsageError("gzip level must be 0-9, got " + std::to_string(options.gzip_level));

    Hdf5Lock lock;
    const std::vector<std::int64_t> dims = dims_from_shape(shape, ndim);
    const std::vector<hsize_t> hdims(dims.begin(), dims.end());
    Handle space(H5Screate_simple(ndim, hdims.data(), nullptr));
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    std::vector<std::int64_t> chunk_dims;

    if (shape.count() > 0) {
        Vec3i spatial = options.chunk ? min(*options.chunk, shape.zyx) : default_chunk(shape.zyx);
        spatial = max(spatial, Vec3i::all(1));
        const std::vector<std::int64_t> c = dims_from_shape(tensor::Shape4{options.chunk_all_channels ? shape.c : 1, spatial}, ndim);
        const std::vector<hsize_t> chunk(c.begin(), c.end());
        chunk_dims = c;
        H5Pset_chunk(dcpl.get(), ndim, chunk.data());
        if (options.gzip_level > 0) {
            if (core::dtype_size(dtype) > 1) H5Pset_shuffle(dcpl.get());
            H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.gzip_level));
        }
        // Parallel writes need the chunks allocated up front.
        if (file.is_parallel() || options.allocate_early) H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
        if (options.allocate_early) H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
    }
    Handle ds(
        H5Dcreate2(file.id(), name.c_str(), native_type(dtype), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
    if (!ds.valid()) fail(ErrorKind::Io, file.path(), name, "cannot create the dataset");

    Hdf5Dataset out;
    out.path_ = file.path();
    out.name_ = name;
    out.parallel_ = file.is_parallel();
    out.info_.dtype = dtype;
    out.info_.dims = dims;
    out.info_.shape = shape;
    out.info_.gzip_level = shape.count() > 0 ? options.gzip_level : 0;
    out.info_.chunks = chunk_dims;
    out.id_ = ds.release();
    return out;
}

Hdf5Dataset::Hdf5Dataset(Hdf5Dataset&& other) noexcept
    : id_(std::exchange(other.id_, -1)),
      path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      info_(std::move(other.info_)),
      parallel_(other.parallel_)
{
}

Hdf5Dataset& Hdf5Dataset::operator=(Hdf5Dataset&& other) noexcept
{
    std::swap(id_, other.id_);
    std::swap(path_, other.path_);
    std::swap(name_, other.name_);
    std::swap(info_, other.info_);
    std::swap(parallel_, other.parallel_);
    return *this;
}

Hdf5Dataset::~Hdf5Dataset()
{
    if (id_ < 0) return;
    Hdf5Lock lock;
    H5Dclose(id_);
    H5Eclear2(H5E_DEFAULT);
}

void Hdf5Dataset::transfer_contiguous(bool is_write, const Box3& box, std::int64_t c0, std::int64_t nc, DType mem_type,
                                      void* buffer, Transfer transfer) const
{
    const int ndim = static_cast<int>(info_.dims.size());
    const tensor::Shape4& s = info_.shape;
    const bool empty = box.empty() || nc <= 0;
    if (!empty) {
        const Box3 whole{Vec3i{}, s.zyx};
        if (!whole.contains(box) || c0 < 0 || c0 + nc > s.c) {
            throw core::InputError("box " + core::to_string(box) + " (channels " + std::to_string(c0) + "+" +
                                   std::to_string(nc) + ") lies outside the dataset of shape " + tensor::to_string(s) +
                                   " (c,z,y,x)")
                .at_dataset(path_, name_);
        }
    }
    Hdf5Lock lock;
    Handle file_space(H5Dget_space(id_));
    Handle mem_space;
    if (empty) {
        H5Sselect_none(file_space.get());
        const hsize_t one = 1;
        mem_space = Handle(H5Screate_simple(1, &one, nullptr));
        H5Sselect_none(mem_space.get());
    } else {
        const std::vector<std::int64_t> start =
            ndim == 4   ? std::vector<std::int64_t>{c0, box.origin.z, box.origin.y, box.origin.x}
            : ndim == 3 ? std::vector<std::int64_t>{box.origin.z, box.origin.y, box.origin.x}
                        : std::vector<std::int64_t>{box.origin.y, box.origin.x};
        const std::vector<std::int64_t> count = dims_from_shape(tensor::Shape4{nc, box.size}, ndim);
        const std::vector<hsize_t> hstart(start.begin(), start.end());
        const std::vector<hsize_t> hcount(count.begin(), count.end());
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, hstart.data(), nullptr, hcount.data(), nullptr);
        mem_space = Handle(H5Screate_simple(ndim, hcount.data(), nullptr));
    }
    Handle dxpl(H5Pcreate(H5P_DATASET_XFER));
    if (parallel_) {
        // HDF5 only writes compressed datasets collectively.
        const bool collective = transfer == Transfer::Collective || (is_write && info_.gzip_level > 0);
        H5Pset_dxpl_mpio(dxpl.get(), collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
    }
    const herr_t rc = is_write
                          ? H5Dwrite(id_, native_type(mem_type), mem_space.get(), file_space.get(), dxpl.get(), buffer)
                          : H5Dread(id_, native_type(mem_type), mem_space.get(), file_space.get(), dxpl.get(), buffer);
    if (rc < 0) {
        if (is_write) fail(ErrorKind::Io, path_, name_, "cannot write box " + core::to_string(box));
        fail(ErrorKind::Input, path_, name_, "cannot read box " + core::to_string(box) + " (corrupt file?)");
    }
}

tensor::AnyTensor Hdf5Dataset::read_all() const
{
    return read_box(Box3{Vec3i{}, info_.shape.zyx});
}

tensor::AnyTensor Hdf5Dataset::read_box(const Box3& box, Transfer transfer) const
{
    tensor::AnyTensor out(info_.dtype, tensor::Shape4{info_.shape.c, box.size}, static_cast<int>(info_.dims.size()),
                          core::Init::Uninitialized);
    transfer_contiguous(false, box, 0, info_.shape.c, info_.dtype, out.data(), transfer);
    return out;
}

void Hdf5Dataset::write_any(const Vec3i& origin, const tensor::AnyTensor& t, Transfer transfer)
{
    transfer_contiguous(true, Box3{origin, t.shape().zyx}, 0, t.shape().c, t.dtype(), const_cast<void*>(t.data()),
                        transfer);
}

std::optional<std::int64_t> Hdf5Dataset::chunk_address(const Vec3i& voxel) const
{
    Hdf5Lock lock;
    const std::vector<std::int64_t> at = dims_from_shape(tensor::Shape4{0, voxel}, static_cast<int>(info_.dims.size()));
    std::vector<hsize_t> offset(at.begin(), at.end());
    if (info_.dims.size() == 4) offset[0] = 0;
    // H5Dget_chunk_info_by_coord wants the chunk's own origin.
    if (!info_.chunks.empty())
        for (std::size_t i = 0; i < offset.size(); ++i)
            offset[i] -= offset[i] % static_cast<hsize_t>(info_.chunks[i]);
    unsigned filter_mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(id_, offset.data(), &filter_mask, &address, &size) < 0 || address == HADDR_UNDEF)
        return std::nullopt;
    return static_cast<std::int64_t>(address);
}

void Hdf5Dataset::set_attribute(std::string_view name, std::string_view value)
{
    Hdf5Lock lock;
    write_string_attribute(id_, name, value, path_ + ":" + name_);
}

void Hdf5Dataset::set_attribute(std::string_view name, const std::vector<double>& values)
{
    Hdf5Lock lock;
    const std::string n(name);
    if (H5Aexists(id_, n.c_str()) > 0) H5Adelete(id_, n.c_str());
    const hsize_t count = values.size();
    Handle space(H5Screate_simple(1, &count, nullptr));
    Handle attr(H5Acreate2(id_, n.c_str(), H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, values.data()) < 0)
        fail(ErrorKind::Io, path_, name_, "cannot write attribute '" + n + "'");
}

std::optional<std::vector<double>> Hdf5Dataset::numeric_attribute(std::string_view name) const
{
    Hdf5Lock lock;
    const std::string n(name);
    if (H5Aexists(id_, n.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    Handle attr(H5Aopen(id_, n.c_str(), H5P_DEFAULT));
    Handle type(H5Aget_type(attr.get()));
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return std::nullopt;
    Handle space(H5Aget_space(attr.get()));
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if (count <= 0 || count > 64) return std::nullopt;
    std::vector<double> values(static_cast<std::size_t>(count));
    if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return values;
}

std::optional<std::string> Hdf5Dataset::string_attribute(std::string_view name) const
{
    Hdf5Lock lock;
    auto v = read_string_attribute(id_, name);
    H5Eclear2(H5E_DEFAULT);
    return v;
}

}  // namespace znn::io
