// The Python module `znn` (its compiled part, `znn._znn`): the engine driven from numpy. Arrays are
// checked, never converted: a wrong dtype, layout or shape raises instead of silently copying. Every
// call that computes releases the GIL; errors arrive as znn.Error subclasses with the C++ message.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <mutex>
#include <cstring>
#include <string>

#include "python_jobs.hpp"
#include "python_network.hpp"
#include "python_training.hpp"
#include "znn/core/build_info.hpp"
#include "znn/config/values.hpp"
#include "znn/core/stop_signals.hpp"
#include "znn/core/error.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/data/region.hpp"
#include "znn/io/volume_io.hpp"
#include "znn/tensor/tensor.hpp"

namespace py = pybind11;
using namespace znn;

namespace {

/// The Python exception classes, one per core::ErrorKind, each also a subclass of the matching builtin.
struct Exceptions {
    PyObject* base = nullptr;
    PyObject* by_kind[6] = {};
};
Exceptions& exceptions()
{
    static Exceptions e;
    return e;
}

void add_exceptions(py::module_& m)
{
    Exceptions& e = exceptions();
    e.base = PyErr_NewExceptionWithDoc("znn.Error", "Base of every error znn raises (a C++ znn::core::Error).", PyExc_RuntimeError, nullptr);
    m.add_object("Error", py::handle(e.base));
    struct Kind {
        core::ErrorKind kind;
        const char* name;
        PyObject* builtin;
        const char* doc;
    };
    const Kind kinds[] = {
        {core::ErrorKind::Usage, "UsageError", PyExc_ValueError, "A wrong argument or option."},
        {core::ErrorKind::Input, "InputError", PyExc_ValueError, "Bad input: a malformed file, a wrong shape, a missing dataset, NaN."},
        {core::ErrorKind::Io, "IoError", PyExc_OSError, "A file could not be read or written."},
        {core::ErrorKind::Mpi, "MpiError", PyExc_RuntimeError, "An MPI call failed."},
        {core::ErrorKind::Numeric, "NumericError", PyExc_ArithmeticError, "A computation went non-finite."},
        {core::ErrorKind::Internal, "InternalError", PyExc_RuntimeError, "A bug in znn: please report it."},
    };
    for (const Kind& k : kinds) {
        py::tuple bases = py::make_tuple(py::handle(e.base), py::handle(k.builtin));
        PyObject* type = PyErr_NewExceptionWithDoc((std::string("znn.") + k.name).c_str(), k.doc, bases.ptr(), nullptr);
        e.by_kind[static_cast<int>(k.kind)] = type;
        m.add_object(k.name, py::handle(type));
    }
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const core::Error& err) {
            PyErr_SetString(exceptions().by_kind[static_cast<int>(err.kind())], err.what());
        }
    });
}

[[noreturn]] void type_error(const std::string& text) { throw py::type_error(text); }

/// One call's hold on a network (a network runs one call at a time; a second Python thread calling
/// it waits). Taken with the GIL released, so a thread waiting for it never holds the GIL; the
/// holder then takes the GIL back as it needs it: the order is always network, then GIL.
class NetworkGuard {
public:
    explicit NetworkGuard(const python::PythonNetwork& net) : lock_(net.busy(), std::defer_lock)
    {
        py::gil_scoped_release release;
        lock_.lock();
    }

private:
    std::unique_lock<std::mutex> lock_;
};

/// `array` as a (C, Z, Y, X) float32 view, checked: C-contiguous, aligned, 4 dimensions.
tensor::TensorView<const float> checked_volume(const py::array& array, const std::string& what)
{
    if (!py::isinstance<py::array_t<float>>(array) || !array.dtype().is(py::dtype::of<float>()))
        type_error(what + ": expected a float32 array, got " + std::string(py::str(array.dtype())) +
                   " (convert it with .astype(numpy.float32))");
    if (array.ndim() != 4)
        throw core::InputError(what + ": expected 4 dimensions (channels, z, y, x), got " + std::to_string(array.ndim()));
    if (!(array.flags() & py::array::c_style))
        type_error(what + ": expected a C-contiguous array (numpy.ascontiguousarray makes one)");
    const auto* data = static_cast<const float*>(array.data());
    const tensor::Shape4 shape{array.shape(0), {array.shape(1), array.shape(2), array.shape(3)}};
    return tensor::TensorView<const float>(data, shape);
}

py::dict forward(python::PythonNetwork& net, const py::dict& inputs)
{
    const NetworkGuard guard(net);
    const auto in_nodes = net.inputs();
    std::vector<std::pair<std::string, tensor::TensorView<const float>>> views;
    for (const auto& [name, maps] : in_nodes) {
        if (!inputs.contains(name.c_str())) throw core::InputError("no array for input node '" + name + "'").at(net.spec().file);
        const py::array a = py::reinterpret_borrow<py::array>(inputs[name.c_str()]);
        const tensor::TensorView<const float> v = checked_volume(a, "input '" + name + "'");
        if (v.channels() != maps)
            throw core::InputError("input '" + name + "' has " + std::to_string(v.channels()) + " channels; the node takes " +
                                   std::to_string(maps))
                .at(net.spec().file);
        views.emplace_back(name, v);
    }
    for (const auto& item : inputs) {
        const std::string key = py::str(item.first);
        bool known = false;
        for (const auto& [name, maps] : in_nodes) known = known || name == key;
        if (!known) throw core::InputError("the network has no input node '" + key + "'").at(net.spec().file);
    }
    const core::Vec3i size = views.front().second.size();
    for (const auto& [name, v] : views)
        if (v.size() != size) throw core::InputError("inputs of different sizes (" + core::to_string(size) + ", " + core::to_string(v.size()) + ")");
    const core::Vec3i block = size - net.fov() + 1;
    if (block.min_component() < 1)
        throw core::InputError("input " + core::to_string(size) + " is smaller than the field of view " + core::to_string(net.fov()));

    py::dict result;
    std::vector<std::pair<float*, tensor::TensorView<const float>>> copies;  // output buffer, network output
    infer::BlockNetwork* block_net = nullptr;
    {
        py::gil_scoped_release release;
        block_net = &net.at_block(block);
        for (const auto& [name, v] : views) tensor::copy(v, block_net->input(name));
        const auto start = std::chrono::steady_clock::now();
        block_net->run();
        net.set_last_pass_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    for (const auto& [name, maps] : net.outputs()) {
        const tensor::TensorView<const float> out = block_net->output(name);
        py::array_t<float> array({out.channels(), out.size().z, out.size().y, out.size().x});
        copies.emplace_back(array.mutable_data(), out);
        result[name.c_str()] = array;
    }
    {
        py::gil_scoped_release release;
        for (auto& [dst, out] : copies) tensor::copy(out, tensor::TensorView<float>(dst, out.shape()));
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    return result;
}

/// The communicator of `comm`: serial for None, else an mpi4py communicator (its Fortran handle).
dist::Comm communicator(const py::object& comm)
{
    if (comm.is_none()) return dist::Comm::serial();
    if (!py::hasattr(comm, "py2f")) type_error("comm: expected an mpi4py communicator (mpi4py.MPI.Comm) or None");
    return dist::Comm::from_fortran(comm.attr("py2f")().cast<std::int64_t>());
}

/// A logger whose lines go to `sink(level, line)`, a Python callable, called with the GIL held from
/// whichever thread logs.
core::Logger python_logger(const dist::Comm& comm, const std::string& level, py::object sink)
{
    core::Logger::Options options;
    const auto parsed = core::parse_log_level(level);
    if (!parsed) throw core::UsageError("log_level: debug, info, warn or error, got '" + level + "'");
    options.level = *parsed;
    auto shared = std::make_shared<py::object>(std::move(sink));
    return core::Logger(comm.rank(), options, [shared](std::string_view line) {
        py::gil_scoped_acquire gil;
        try {
            (*shared)(py::str(line.data(), line.size()));
        } catch (py::error_already_set& e) {
            e.discard_as_unraisable("znn log sink");
        }
    });
}

/// Runs `job` with the GIL released and the stop signals caught; a Ctrl-C that stopped it is raised
/// as KeyboardInterrupt once it has stopped cleanly (checkpoint or stored blocks written).
template <class Job>
auto run_stoppable(Job&& job)
{
    core::StopSignals signals;
    auto result = [&] {
        py::gil_scoped_release release;
        return job(&signals.flag());
    }();
    if (signals.flag().load() == SIGINT) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
    return result;
}

/// A volume predict() reads: a numpy array in place, or a file (an h5py.Dataset's, or an address
/// "file.h5:/dataset", a TIFF) read block by block through znn's own I/O.
struct PredictVolume {
    tensor::TensorView<const float> array;  // when in memory
    std::optional<io::VolumeUri> file;
    core::Vec3i stored;
    std::int64_t channels = 0;
    std::string name;
};

bool is_h5py_dataset(const py::object& v)
{
    return py::hasattr(v, "id") && py::hasattr(v, "file") && py::hasattr(v, "name") && py::hasattr(v, "dtype") &&
           py::str(py::type::of(v).attr("__module__")).cast<std::string>().rfind("h5py", 0) == 0;
}

PredictVolume predict_volume(const py::object& v, const std::string& what)
{
    PredictVolume r;
    if (py::isinstance<py::array>(v)) {
        py::array a = py::reinterpret_borrow<py::array>(v);
        if (a.ndim() == 3) a = a.attr("reshape")(py::make_tuple(1, a.shape(0), a.shape(1), a.shape(2)));  // a view: checked below
        r.array = checked_volume(a, what);
        r.stored = r.array.size();
        r.channels = r.array.channels();
        r.name = what;
        return r;
    }
    std::string address;
    if (is_h5py_dataset(v)) {
        address = py::str(v.attr("file").attr("filename")).cast<std::string>() + ":" + py::str(v.attr("name")).cast<std::string>();
    } else if (py::isinstance<py::str>(v) || py::hasattr(v, "__fspath__")) {
        address = py::str(py::module_::import("os").attr("fspath")(v)).cast<std::string>();
    } else {
        type_error(what + ": expected a float32 numpy array, an h5py.Dataset or a volume address ('file.h5:/dataset', a TIFF), got " +
                   std::string(py::str(py::type::of(v).attr("__name__"))));
    }
    r.file = io::VolumeUri::parse(address);
    io::VolumeInfo info;
    {
        py::gil_scoped_release release;
        info = io::volume_info(*r.file);
    }
    r.stored = info.shape.zyx;
    r.channels = info.shape.c;
    r.name = r.file->str();
    return r;
}

/// `t`, the region `region` of `what`, unless it holds NaN or infinite values (InputError).
tensor::Tensor<float> finite_region(tensor::Tensor<float> t, const std::string& what, const core::Box3& region)
{
    if (tensor::find_non_finite(t.cview()))
        throw core::InputError("holds NaN or infinite values (in the region " + core::to_string(region) + ")").at(what);
    return t;
}

py::object predict(python::PythonNetwork& net, const py::object& volume, const py::object& block, bool mirror, const py::object& tta,
                   const std::string& combine, bool affinity, const py::object& out)
{
    const NetworkGuard guard(net);
    python::PredictRequest request;
    request.mirror = mirror;
    if (!block.is_none()) {
        const auto b = block.cast<std::vector<std::int64_t>>();
        if (b.size() != 3) throw core::UsageError("block: expected (z, y, x), got " + std::to_string(b.size()) + " values");
        request.block = {b[0], b[1], b[2]};
        if (request.block.min_component() < 1) throw core::UsageError("block: every axis must be at least 1, got " + core::to_string(request.block));
    }
    if (!tta.is_none()) {
        request.tta.variants = tta.cast<std::vector<int>>();
        if (request.tta.variants.empty()) throw core::UsageError("tta: at least one variant (0: the identity)");
        for (const int v : request.tta.variants)
            if (v < 0 || v > 15) throw core::UsageError("tta: variants are 0 to 15, got " + std::to_string(v));
    }
    if (combine == "mean") request.tta.combine = config::TtaCombine::Mean;
    else if (combine == "min") request.tta.combine = config::TtaCombine::Min;
    else if (combine == "max") request.tta.combine = config::TtaCombine::Max;
    else throw core::UsageError("combine: 'mean', 'min' or 'max', got '" + combine + "'");
    request.tta.affinity = affinity;

    // The volumes by input node.
    const auto in_nodes = net.inputs();
    std::vector<std::pair<std::string, PredictVolume>> volumes;
    if (py::isinstance<py::dict>(volume)) {
        const py::dict d = py::reinterpret_borrow<py::dict>(volume);
        for (const auto& item : d) {
            const std::string key = py::str(item.first);
            bool known = false;
            for (const auto& [name, maps] : in_nodes) known = known || name == key;
            if (!known) throw core::InputError("the network has no input node '" + key + "'").at(net.spec().file);
        }
        for (const auto& [name, maps] : in_nodes) {
            if (!d.contains(name.c_str())) throw core::InputError("no volume for input node '" + name + "'").at(net.spec().file);
            volumes.emplace_back(name, predict_volume(d[name.c_str()], "input '" + name + "'"));
        }
    } else {
        if (in_nodes.size() != 1) throw core::InputError("the network has several input nodes: pass a dict").at(net.spec().file);
        volumes.emplace_back(in_nodes.front().first, predict_volume(volume, "volume"));
    }
    for (std::size_t i = 0; i < volumes.size(); ++i) {
        const auto& [name, v] = volumes[i];
        if (v.channels != in_nodes[i].second)
            throw core::InputError(v.name + " has " + std::to_string(v.channels) + " channel(s); the input node '" + name + "' takes " +
                                   std::to_string(in_nodes[i].second))
                .at(net.spec().file);
        if (v.stored != volumes.front().second.stored)
            throw core::InputError("the input volumes differ in size (" + core::to_string(volumes.front().second.stored) + ", " +
                                   core::to_string(v.stored) + ")");
    }
    const core::Vec3i stored = volumes.front().second.stored;
    const core::Vec3i output = net.predict_output_size(stored, mirror);

    // The outputs: new arrays, or `out` (one output node) written in place.
    std::map<std::string, tensor::TensorView<float>> outputs;
    py::dict arrays;
    for (const auto& [name, maps] : net.outputs()) {
        py::array_t<float> a;
        if (!out.is_none()) {
            if (net.outputs().size() != 1) throw core::UsageError("out: only for networks with one output node");
            if (!py::isinstance<py::array>(out) || !py::array(py::reinterpret_borrow<py::array>(out)).dtype().is(py::dtype::of<float>()))
                type_error("out: expected a float32 numpy array");
            a = py::reinterpret_borrow<py::array_t<float>>(out);
            if (!(a.flags() & py::array::c_style) || !a.writeable()) type_error("out: expected a writeable C-contiguous array");
            const std::vector<py::ssize_t> want{maps, output.z, output.y, output.x};
            if (a.ndim() != 4 || !std::equal(want.begin(), want.end(), a.shape()))
                throw core::InputError("out: expected the shape (" + std::to_string(maps) + ", " + std::to_string(output.z) + ", " +
                                       std::to_string(output.y) + ", " + std::to_string(output.x) + ")");
        } else {
            a = py::array_t<float>({maps, output.z, output.y, output.x});
        }
        outputs.emplace(name, tensor::TensorView<float>(a.mutable_data(), tensor::Shape4{maps, output}));
        arrays[name.c_str()] = a;
    }

    const core::Vec3i pad_low = mirror ? (net.fov() - 1) / core::Vec3i::all(2) : core::Vec3i{};
    const core::Vec3i pad_high = mirror ? net.fov() / core::Vec3i::all(2) : core::Vec3i{};
    std::map<std::string, python::RegionReader> readers;
    for (const auto& [name, v] : volumes) {
        if (v.file) {
            const data::MirroredVolume file{*v.file, v.stored, {}, pad_low, pad_high, v.channels};
            readers[name] = [file](const core::Box3& region) {
                return finite_region(file.read_float(region, dist::Comm::serial()), file.uri.str(), region);
            };
        } else {
            const tensor::TensorView<const float> array = v.array;
            const std::string what = v.name;
            readers[name] = [array, pad_low, what](const core::Box3& region) {
                return finite_region(data::read_mirrored(array, pad_low, region), what, region);
            };
        }
    }
    run_stoppable([&](const std::atomic<int>* stop) { return net.predict(readers, stored, request, outputs, stop); });
    if (net.outputs().size() == 1) return arrays[net.outputs().front().first.c_str()];
    return arrays;
}

/// Arrays by node from `obj`: a dict by node, or one array for the one node of `nodes` (None: none).
/// 3-dimensional arrays are taken as one channel. Each is checked (float32, C-contiguous), never copied.
python::PatchArrays node_arrays(const py::object& obj, const std::vector<std::pair<std::string, std::int64_t>>& nodes,
                                const std::string& what, std::vector<py::array>& keep)
{
    python::PatchArrays r;
    if (obj.is_none()) return r;
    auto one = [&](const std::string& node, const py::handle& h) {
        if (!py::isinstance<py::array>(h)) type_error(what + " '" + node + "': expected a numpy array");
        py::array a = py::reinterpret_borrow<py::array>(h);
        if (a.ndim() == 3) a = a.attr("reshape")(py::make_tuple(1, a.shape(0), a.shape(1), a.shape(2)));
        keep.push_back(a);
        r.emplace(node, checked_volume(a, what + " '" + node + "'"));
    };
    if (py::isinstance<py::dict>(obj)) {
        for (const auto& item : py::reinterpret_borrow<py::dict>(obj)) one(py::str(item.first), item.second);
        return r;
    }
    if (nodes.size() != 1) throw core::InputError(what + ": the network has several such nodes: pass a dict by node");
    one(nodes.front().first, obj);
    return r;
}

train::OptimizerOptions optimizer_options(const std::string& kind, double momentum, double weight_decay, double beta1, double beta2,
                                          double epsilon)
{
    train::OptimizerOptions o;
    if (kind == "sgd") o.kind = config::OptimizerKind::Sgd;
    else if (kind == "adam") o.kind = config::OptimizerKind::Adam;
    else throw core::UsageError("optimizer: 'sgd' or 'adam', got '" + kind + "'");
    o.momentum = momentum;
    o.weight_decay = weight_decay;
    o.beta1 = beta1;
    o.beta2 = beta2;
    o.epsilon = epsilon;
    return o;
}

train::Cost cost_of(const std::string& name)
{
    const auto cost = python::parse_cost(name);
    if (!cost) throw core::UsageError("cost: 'square_loss', 'square-square', 'binomial_cross_entropy' or 'softmax_loss', got '" + name + "'");
    return *cost;
}

py::array_t<float> array_of(const tensor::Tensor<float>& t)
{
    py::array_t<float> a({t.channels(), t.size().z, t.size().y, t.size().x});
    std::copy_n(t.data(), t.count(), a.mutable_data());
    return a;
}

py::dict gradient_arrays(const python::PythonNetwork& net)
{
    py::dict d;
    for (const auto& p : net.parameters()) d[p.group.c_str()] = array_of(p.gradient);
    return d;
}

/// The numpy dtype of `t`, and back.
py::dtype numpy_dtype(core::DType t)
{
    switch (t) {
    case core::DType::UInt8: return py::dtype::of<std::uint8_t>();
    case core::DType::Int8: return py::dtype::of<std::int8_t>();
    case core::DType::UInt16: return py::dtype::of<std::uint16_t>();
    case core::DType::Int16: return py::dtype::of<std::int16_t>();
    case core::DType::UInt32: return py::dtype::of<std::uint32_t>();
    case core::DType::Int32: return py::dtype::of<std::int32_t>();
    case core::DType::UInt64: return py::dtype::of<std::uint64_t>();
    case core::DType::Int64: return py::dtype::of<std::int64_t>();
    case core::DType::Float32: return py::dtype::of<float>();
    case core::DType::Float64: return py::dtype::of<double>();
    }
    throw core::InternalError("numpy_dtype: unknown type");
}

std::optional<core::DType> dtype_of(const py::dtype& d)
{
    for (const core::DType t : core::kAllDTypes)
        if (d.is(numpy_dtype(t))) return t;
    return std::nullopt;
}

/// A volume read by znn's I/O as a numpy array that owns the tensor read (no copy), with the
/// file's element type and dimensions (2: y, x; 3: z, y, x; 4: c, z, y, x).
py::array read_volume(const py::object& address, const py::object& box)
{
    const std::string text = py::str(py::module_::import("os").attr("fspath")(address)).cast<std::string>();
    std::optional<core::Box3> region;
    if (!box.is_none()) {
        const auto b = box.cast<std::vector<std::int64_t>>();
        if (b.size() != 6) throw core::UsageError("box: expected (z0, y0, x0, dz, dy, dx), got " + std::to_string(b.size()) + " values");
        region = core::Box3{{b[0], b[1], b[2]}, {b[3], b[4], b[5]}};
    }
    auto volume = std::make_unique<tensor::AnyTensor>();
    {
        py::gil_scoped_release release;
        *volume = io::read_volume(io::VolumeUri::parse(text), region);
    }
    const tensor::Shape4 s = volume->shape();
    std::vector<py::ssize_t> shape{s.c, s.zyx.z, s.zyx.y, s.zyx.x};
    shape.erase(shape.begin(), shape.begin() + (4 - volume->ndim()));
    const py::dtype dtype = numpy_dtype(volume->dtype());
    void* data = volume->data();
    py::capsule owner(volume.release(), [](void* p) { delete static_cast<tensor::AnyTensor*>(p); });
    return py::array(dtype, shape, data, owner);
}

/// Writes `array` (2 to 4 dimensions, any of znn's element types, C-contiguous) atomically through
/// znn's I/O: HDF5 chunked and compressed, or a TIFF stack.
void write_volume(const py::object& address, const py::array& array, bool overwrite, int gzip)
{
    const std::string text = py::str(py::module_::import("os").attr("fspath")(address)).cast<std::string>();
    const auto dtype = dtype_of(array.dtype());
    if (!dtype) type_error("write_volume: the element type " + std::string(py::str(array.dtype())) + " is not one znn writes (integers of 8-64 bits, float32, float64)");
    if (array.ndim() < 2 || array.ndim() > 4) throw core::InputError("write_volume: expected 2 to 4 dimensions, got " + std::to_string(array.ndim()));
    if (!(array.flags() & py::array::c_style)) type_error("write_volume: expected a C-contiguous array");
    if (gzip < 0 || gzip > 9) throw core::UsageError("gzip: 0 to 9, got " + std::to_string(gzip));
    std::int64_t dims[4] = {1, 1, 1, 1};
    for (py::ssize_t i = 0; i < array.ndim(); ++i) dims[4 - array.ndim() + i] = array.shape(i);
    tensor::AnyTensor volume(*dtype, tensor::Shape4{dims[0], {dims[1], dims[2], dims[3]}}, static_cast<int>(array.ndim()), core::Init::Uninitialized);
    std::memcpy(volume.data(), array.data(), volume.bytes());
    io::VolumeWriteOptions options;
    options.overwrite = overwrite;
    options.hdf5.gzip_level = gzip;
    py::gil_scoped_release release;
    io::write_volume(io::VolumeUri::parse(text), volume, options);
}

eval::EvalOptions eval_options(const py::object& mode, std::int64_t channel, const std::vector<double>& thresholds,
                               const std::vector<std::uint64_t>& ignore, bool planar, const py::object& offset)
{
    eval::EvalOptions o;
    if (!mode.is_none()) {
        const std::string m = py::str(mode);
        o.kind = eval::parse_map_kind(m);
        if (!o.kind) throw core::UsageError("mode: 'labels', 'interior', 'membrane' or 'affinity', got '" + m + "'");
    }
    if (channel < 0) throw core::UsageError("channel: must be 0 or more");
    o.channel = channel;
    if (thresholds.empty()) throw core::UsageError("threshold: give at least one");
    for (const double t : thresholds)
        if (!std::isfinite(t)) throw core::UsageError("threshold: must be finite");
    o.thresholds = thresholds;
    o.ignore = ignore;
    o.planar = planar;
    if (!offset.is_none()) {
        const auto v = offset.cast<std::vector<std::int64_t>>();
        if (v.size() != 3) throw core::UsageError("offset: expected (z, y, x)");
        o.offset = core::Vec3i{v[0], v[1], v[2]};
    }
    return o;
}

/// One JSON object per evaluation and threshold, as `znn eval` prints them (znn/__init__.py parses them).
std::vector<std::string> evaluation_json(const std::vector<python::Evaluation>& evaluations)
{
    std::vector<std::string> lines;
    for (const python::Evaluation& e : evaluations)
        for (const eval::EvalResult& r : e.results) lines.push_back(eval::to_json(e.task, r));
    return lines;
}

std::vector<std::string> overrides_of(const py::object& set)
{
    std::vector<std::string> r;
    if (set.is_none()) return r;
    for (const auto& item : py::reinterpret_borrow<py::dict>(set))
        r.push_back(py::str(item.first).cast<std::string>() + "=" + py::str(item.second).cast<std::string>());
    return r;
}

std::string outcome_name(train::TrainOutcome o)
{
    switch (o) {
    case train::TrainOutcome::Finished: return "finished";
    case train::TrainOutcome::Stopped: return "stopped";
    case train::TrainOutcome::Checked: return "checked";
    }
    return "?";
}

std::string describe(const python::PythonNetwork& net)
{
    const NetworkGuard guard(net);
    std::string text = "znn.Network('" + net.spec().file + "'";
    if (!net.weights().empty()) text += ", weights='" + net.weights() + "'";
    text += "): field of view " + core::to_string(net.fov()) + "; inputs";
    for (const auto& [name, maps] : net.inputs()) text += " '" + name + "' (" + std::to_string(maps) + ")";
    text += "; outputs";
    for (const auto& [name, maps] : net.outputs()) text += " '" + name + "' (" + std::to_string(maps) + ")";
    text += "; " + std::to_string(net.parameter_count()) + " parameters; " + std::to_string(net.threads()) + " thread(s), " +
            std::string(core::to_string(net.simd())) + " kernels" + (net.softmax() ? "; softmaxed outputs" : "");
    const auto choices = net.conv_choices();
    if (choices.empty()) {
        text += "; convolutions chosen at the first forward";
    } else {
        text += "; conv:";
        for (const auto& [group, algo] : choices) text += " " + group + "=" + std::string(conv::to_string(algo));
    }
    return text;
}

}  // namespace

PYBIND11_MODULE(_znn, m)
{
    m.doc() = "znn: dense sliding-window ConvNets on CPUs (the compiled part; import znn)";
    add_exceptions(m);
    m.attr("__version__") = core::build_info().version;
    m.def("version", [] { return core::build_info().version_string(); }, "The znn version and git commit.");
    m.def("simd", [] { return std::string(core::to_string(core::host_simd_path())); },
          "The SIMD kernels this CPU runs: 'avx512' or 'avx2'.");

    m.def("read_volume", &read_volume, py::arg("address"), py::arg("box") = py::none(),
          R"doc(Reads a volume through znn's I/O: 'file.h5:/dataset' (/main when omitted) or a TIFF stack.

Returns a numpy array in the file's element type and dimensions ((y, x), (z, y, x) or (c, z, y, x)),
owning the data read (no copy). box=(z0, y0, x0, dz, dy, dx) reads only that part (all channels).
Errors name the file and dataset (znn.InputError, znn.IoError).)doc");
    m.def("write_volume", &write_volume, py::arg("address"), py::arg("array"), py::kw_only(), py::arg("overwrite") = false,
          py::arg("gzip") = 1,
          R"doc(Writes a numpy array (2 to 4 dimensions, C-contiguous, integers or floats) through znn's I/O, atomically:
an HDF5 dataset (chunked, shuffled, deflate level `gzip`) or a TIFF stack Fiji opens. An existing
file is an error unless overwrite=True.)doc");

    py::class_<python::PythonNetwork>(m, "Network", R"doc(A network (.znn) with its parameters, run from numpy.

Network(net, weights=None, *, threads=0, conv='stored', softmax=None, seed=1)

  net      the network specification (.znn, the original ZNN's format)
  weights  a network file (.h5) written by znn or the original ZNN; None: freshly initialised
  threads  0: the process's CPU affinity mask (or $OMP_NUM_THREADS, $SLURM_CPUS_PER_TASK)
  conv     'stored' (the network file's choices, else measured), 'auto' (measured), 'direct', 'fft'
  softmax  outputs passed through a softmax over their channels (nets trained with softmax_loss);
           None: as znn forward does, from the training configuration the network file records

Inference:
  forward(x)           one dense pass: x float32 C-contiguous (channels, z, y, x), larger than the
                       field of view by the output size minus one (or a dict by input node); returns
                       (channels, out_z, out_y, out_x) (or a dict by output node). The network for an
                       input size is built (its convolutions chosen) on the first call and kept.
  predict(volume, ...) a whole volume (numpy, h5py.Dataset, 'file.h5:/dataset'), block by block on
                       the grid of `znn forward`, optionally mirrored and test-time augmented.
Training (the conventions of `znn train`):
  train_step(x, target, cost=..., eta=..., momentum=...)   one step on one patch
  gradients(x, output_gradient) or gradients(x, target=...)  the parameter gradients, no step
  step(eta=...)        an optimizer step on the last gradients
  parameters, set_parameters(values), save(path)  the parameters, as arrays and as a network file
Arrays are checked, never converted: a wrong dtype or layout raises TypeError, a wrong shape
znn.InputError. The GIL is released while the engine computes; Ctrl-C stops predict after a block.)doc")
        .def(py::init([](const std::string& net, const py::object& weights, int threads, const std::string& conv, std::optional<bool> softmax,
                         std::uint64_t seed) {
                 const auto choice = python::parse_conv_choice(conv);
                 if (!choice) throw core::UsageError("conv: 'stored', 'auto', 'direct' or 'fft', got '" + conv + "'");
                 if (threads < 0) throw core::UsageError("threads: must be 0 (the affinity mask) or positive");
                 const std::string w = weights.is_none() ? std::string() : py::str(weights).cast<std::string>();
                 py::gil_scoped_release release;
                 return std::make_unique<python::PythonNetwork>(net, w, threads, *choice, softmax, seed);
             }),
             py::arg("net"), py::arg("weights") = py::none(), py::kw_only(), py::arg("threads") = 0, py::arg("conv") = "stored",
             py::arg("softmax") = py::none(), py::arg("seed") = 1)
        .def_property_readonly("fov", [](const python::PythonNetwork& n) { const auto f = n.fov(); return py::make_tuple(f.z, f.y, f.x); },
                               "Field of view (z, y, x): input size = output size + fov - 1.")
        .def_property_readonly("inputs", [](const python::PythonNetwork& n) { return n.inputs(); }, "Input nodes: [(name, maps)].")
        .def_property_readonly("outputs", [](const python::PythonNetwork& n) { return n.outputs(); }, "Output nodes: [(name, maps)].")
        .def_property_readonly("last_pass_seconds",
                               [](const python::PythonNetwork& n) {
                                   const NetworkGuard guard(n);
                                   return n.last_pass_seconds();
                               },
                               "Seconds of the network pass alone in the last forward() (what forward adds: its wall time minus this).")
        .def_property_readonly("parameter_count", &python::PythonNetwork::parameter_count, "Kernel values and biases.")
        .def_property_readonly("threads", &python::PythonNetwork::threads, "Threads the network runs on.")
        .def_property_readonly("softmax", &python::PythonNetwork::softmax, "Whether outputs are softmaxed over their channels.")
        .def_property_readonly("conv_choices",
                               [](const python::PythonNetwork& n) {
                                   const NetworkGuard guard(n);
                                   std::map<std::string, std::string> r;
                                   for (const auto& [g, a] : n.conv_choices()) r[g] = std::string(conv::to_string(a));
                                   return r;
                               },
                               "Convolution per conv group of the last network run ({} before any).")
        .def("forward",
             [](python::PythonNetwork& n, const py::object& x) -> py::object {
                 const bool single = !py::isinstance<py::dict>(x);
                 py::dict inputs;
                 if (single) {
                     if (n.inputs().size() != 1) throw core::InputError("the network has several input nodes: pass a dict");
                     if (!py::isinstance<py::array>(x)) type_error("forward: expected a numpy array or a dict of them");
                     inputs[n.inputs().front().first.c_str()] = x;
                 } else {
                     inputs = py::reinterpret_borrow<py::dict>(x);
                 }
                 py::dict out = forward(n, inputs);
                 if (single && n.outputs().size() == 1) return out[n.outputs().front().first.c_str()];
                 return out;
             },
             py::arg("x"), "Runs the network on x (see the class help); returns the output.")
        .def("predict", &predict, py::arg("volume"), py::kw_only(), py::arg("block") = py::none(), py::arg("mirror") = false,
             py::arg("tta") = py::none(), py::arg("combine") = "mean", py::arg("affinity") = false, py::arg("out") = py::none(),
             R"doc(Inference over a whole volume, block by block on the grid `znn forward` uses.

volume    a float32 C-contiguous numpy array (channels, z, y, x) or (z, y, x), read in place; an
          h5py.Dataset or a volume address ('file.h5:/dataset', 'stack.tif'), read a block at a time
          by znn's own I/O (any stored type, as float32); a dict of these by input node
block     the output block (z, y, x) one pass computes; None: the output up to 128 per axis, made
          smaller until it fits the memory budget of `znn forward`
mirror    pad the volume by the field of view (symmetric, as is_bd_mirror): the output is as large as
          the volume; otherwise it is the volume minus the field of view plus one
tta       test-time augmentation variants, 0-15 (bit 0 flips x, 1 y, 2 z, 3 transposes y and x),
          combined by `combine` ('mean', 'min', 'max'); `affinity`: the outputs are affinities (x, y, z)
out       a float32 C-contiguous array of the output's shape to write into (one output node)

Returns the output (channels, z, y, x), or a dict by output node. The input is used as the network
sees it: preprocess it first (znn.forward runs a job's preprocessing). Each voxel equals the one
`znn forward` computes with the same block size. The GIL is released while it runs; Ctrl-C stops
it after the current block (KeyboardInterrupt).)doc")
        .def(
            "train_step",
            [](python::PythonNetwork& n, const py::object& x, const py::object& target, const std::string& cost, const py::object& mask,
               const py::object& weight, double eta, const std::string& optimizer, double momentum, double weight_decay, double beta1,
               double beta2, double epsilon) {
                const NetworkGuard guard(n);
                std::vector<py::array> keep;
                const python::PatchArrays inputs = node_arrays(x, n.inputs(), "input", keep);
                const python::PatchArrays targets = node_arrays(target, n.outputs(), "target", keep);
                const python::PatchArrays masks = node_arrays(mask, n.outputs(), "mask", keep);
                const python::PatchArrays weights = node_arrays(weight, n.outputs(), "weight", keep);
                const train::Cost c = cost_of(cost);
                const train::OptimizerOptions o = optimizer_options(optimizer, momentum, weight_decay, beta1, beta2, epsilon);
                python::LossReport r;
                {
                    py::gil_scoped_release release;
                    python::Training& t = n.training();
                    r = t.loss_gradients(inputs, c, targets, masks, weights);
                    t.step(eta, o);
                }
                py::dict d;
                d["cost"] = r.voxels > 0 ? r.cost / r.voxels : 0.0;
                d["pixel_error"] = r.voxels > 0 ? r.pixel_errors / r.voxels : 0.0;
                d["voxels"] = r.voxels;
                d["step"] = n.training().steps();
                return d;
            },
            py::arg("x"), py::arg("target"), py::kw_only(), py::arg("cost") = "softmax_loss", py::arg("mask") = py::none(),
            py::arg("weight") = py::none(), py::arg("eta") = 0.01, py::arg("optimizer") = "sgd", py::arg("momentum") = 0.0,
            py::arg("weight_decay") = 0.0, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("epsilon") = 1e-8,
            R"doc(One training step on one patch, as one iteration of `znn train` at batch 1.

x        the input patch: float32 (channels, z, y, x) (or (z, y, x)), or a dict by input node
target   the target of every output (channels, output z, y, x), or a dict by output node; the
         output patch is the input's output size (input - field of view + 1 for dense networks)
cost     the .cfg's cost_fn names: 'square_loss', 'square-square', 'binomial_cross_entropy',
         'softmax_loss' (the output node's values are logits)
mask     0/1 per target value (None: every value trains); weight: rebalance weights per value
eta, optimizer ('sgd' or 'adam'), momentum, weight_decay, beta1, beta2, epsilon: as in the .cfg;
         the gradient is scaled by one over the output voxels (znn train's normalisation); the
         optimizer keeps its state (velocity, moments) across steps while its options stay the same

Returns {'cost': per value, 'pixel_error': fraction, 'voxels': values counted, 'step': steps so far}.
The network's parameters change in place; its inference (forward, predict) uses them at once.)doc")
        .def(
            "gradients",
            [](python::PythonNetwork& n, const py::object& x, const py::object& output_gradient, const py::object& target,
               const std::string& cost, const py::object& mask, const py::object& weight) {
                const NetworkGuard guard(n);
                std::vector<py::array> keep;
                const python::PatchArrays inputs = node_arrays(x, n.inputs(), "input", keep);
                if (output_gradient.is_none() == target.is_none())
                    throw core::UsageError("gradients: give either output_gradient or target (with cost)");
                const python::PatchArrays given = node_arrays(output_gradient, n.outputs(), "output gradient", keep);
                const python::PatchArrays targets = node_arrays(target, n.outputs(), "target", keep);
                const python::PatchArrays masks = node_arrays(mask, n.outputs(), "mask", keep);
                const python::PatchArrays weights = node_arrays(weight, n.outputs(), "weight", keep);
                const train::Cost c = cost_of(cost);
                {
                    py::gil_scoped_release release;
                    python::Training& t = n.training();
                    if (!given.empty())
                        t.output_gradients(inputs, given);
                    else
                        t.loss_gradients(inputs, c, targets, masks, weights);
                }
                return gradient_arrays(n);
            },
            py::arg("x"), py::arg("output_gradient") = py::none(), py::kw_only(), py::arg("target") = py::none(),
            py::arg("cost") = "softmax_loss", py::arg("mask") = py::none(), py::arg("weight") = py::none(),
            R"doc(The gradient of every parameter group for one patch, without a step.

With output_gradient (the loss's gradient with respect to every output, (channels, output z, y, x),
or a dict by output node): backpropagated as given. With target (and cost, mask, weight as in
train_step): the cost's gradient, as znn train computes it. Returns {group: gradient array} (sums
over the patch, not scaled); step() then applies an optimizer to them.)doc")
        .def(
            "step",
            [](python::PythonNetwork& n, double eta, const std::string& optimizer, double momentum, double weight_decay, double beta1,
               double beta2, double epsilon) {
                const train::OptimizerOptions o = optimizer_options(optimizer, momentum, weight_decay, beta1, beta2, epsilon);
                const NetworkGuard guard(n);
                py::gil_scoped_release release;
                n.training().step(eta, o);
            },
            py::kw_only(), py::arg("eta") = 0.01, py::arg("optimizer") = "sgd", py::arg("momentum") = 0.0, py::arg("weight_decay") = 0.0,
            py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("epsilon") = 1e-8,
            "An optimizer step on the gradients of the last gradients() or train_step() (see train_step for the options).")
        .def_property_readonly(
            "parameters",
            [](const python::PythonNetwork& n) {
                const NetworkGuard guard(n);
                py::dict d;
                for (const auto& p : n.parameters()) d[p.group.c_str()] = array_of(p.values);
                return d;
            },
            "Every parameter group's values, {group: array} (copies; set_parameters writes them).")
        .def(
            "set_parameters",
            [](python::PythonNetwork& n, const py::dict& values) {
                const NetworkGuard guard(n);
                for (const auto& item : values) {
                    const std::string group = py::str(item.first);
                    if (!py::isinstance<py::array>(item.second)) type_error("set_parameters: '" + group + "' is not a numpy array");
                    const py::array a = py::reinterpret_borrow<py::array>(item.second);
                    n.set_parameter(group, checked_volume(a, "'" + group + "'"));
                }
            },
            py::arg("values"), "Replaces the values of the groups given, {group: array of the shape `parameters` shows}.")
        .def(
            "save",
            [](const python::PythonNetwork& n, const py::object& path) {
                const std::string p = py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
                const NetworkGuard guard(n);
                py::gil_scoped_release release;
                n.save(p);
            },
            py::arg("path"),
            "Writes the network file (HDF5, atomically): the parameters, the optimizer's velocity as the original's momentum_vol, "
            "the steps taken as its iteration. znn and the original ZNN load it.")
        .def("__repr__", &describe);

    m.def(
        "_train",
        [](const std::string& config, const py::object& set, int threads, std::int64_t iterations, const py::object& seed,
           int loader_threads, const py::object& comm, const std::string& log_level, py::object sink) {
            const dist::Comm c = communicator(comm);
            core::Logger log = python_logger(c, log_level, std::move(sink));
            python::JobRun run{config, overrides_of(set), threads, {}};
            train::TrainOptions options;
            if (!seed.is_none()) options.seed_file = py::str(seed).cast<std::string>();
            if (loader_threads < 1 || loader_threads > 64) throw core::UsageError("loader_threads: must be 1 to 64");
            if (iterations < 0) throw core::UsageError("iterations: must be 0 (up to Max_iter) or more");
            options.loader_threads = loader_threads;
            options.iterations = iterations;
            const train::TrainResult r = run_stoppable([&](const std::atomic<int>* stop) { return python::train_job(run, options, c, log, stop); });
            py::dict d;
            d["outcome"] = outcome_name(r.outcome);
            d["iteration"] = r.iteration;
            d["network"] = r.network;
            d["curve"] = r.curve;
            d["seconds_per_iteration"] = r.seconds_per_iteration;
            d["voxels_per_second"] = r.voxels_per_second;
            d["validation_pixel_error"] = r.last_test_pixel_error >= 0 ? py::object(py::float_(r.last_test_pixel_error)) : py::object(py::none());
            return d;
        },
        py::arg("config"), py::arg("set"), py::arg("threads"), py::arg("iterations"), py::arg("seed"), py::arg("loader_threads"),
        py::arg("comm"), py::arg("log_level"), py::arg("sink"));

    m.def(
        "_eval",
        [](const py::object& config, const py::object& set, const py::object& range, const py::object& seg, const py::object& gt,
           const py::object& mask, const py::object& mode, std::int64_t channel, const std::vector<double>& thresholds,
           const std::vector<std::uint64_t>& ignore, bool planar, const py::object& offset, const py::object& comm,
           const std::string& log_level, py::object sink) {
            const dist::Comm c = communicator(comm);
            core::Logger log = python_logger(c, log_level, std::move(sink));
            const eval::EvalOptions options = eval_options(mode, channel, thresholds, ignore, planar, offset);
            auto text = [](const py::object& o) { return py::str(py::module_::import("os").attr("fspath")(o)).cast<std::string>(); };
            std::vector<python::Evaluation> evaluations;
            if (!config.is_none()) {
                if (!seg.is_none() || !gt.is_none() || !mask.is_none()) throw core::UsageError("give either a job (config) or seg and gt, not both");
                std::optional<std::set<std::int64_t>> ids;
                if (!range.is_none()) {
                    std::string why;
                    ids = config::parse_id_ranges(py::str(range).cast<std::string>(), &why);
                    if (!ids) throw core::UsageError("range: " + why);
                }
                python::JobRun run{text(config), overrides_of(set), 0, {}};
                py::gil_scoped_release release;
                evaluations = python::eval_job(run, ids, options, c, log);
            } else {
                if (seg.is_none() || gt.is_none()) throw core::UsageError("give a job (config), or seg and gt");
                const std::string s = text(seg), g = text(gt);
                const std::optional<std::string> mask_text = mask.is_none() ? std::nullopt : std::optional<std::string>(text(mask));
                py::gil_scoped_release release;
                evaluations.push_back(python::evaluate_volumes(s, g, mask_text, options, c, log));
            }
            return evaluation_json(evaluations);
        },
        py::arg("config"), py::arg("set"), py::arg("range"), py::arg("seg"), py::arg("gt"), py::arg("mask"), py::arg("mode"),
        py::arg("channel"), py::arg("thresholds"), py::arg("ignore"), py::arg("planar"), py::arg("offset"), py::arg("comm"),
        py::arg("log_level"), py::arg("sink"));

    m.def(
        "_forward",
        [](const std::string& config, const py::object& set, int threads, bool overwrite, const py::object& comm,
           const std::string& log_level, py::object sink) {
            const dist::Comm c = communicator(comm);
            core::Logger log = python_logger(c, log_level, std::move(sink));
            python::JobRun run{config, overrides_of(set), threads, {}};
            infer::ForwardOptions options;
            options.overwrite = overwrite;
            const auto outcomes =
                run_stoppable([&](const std::atomic<int>* stop) { return python::forward_job(run, options, c, log, stop); });
            py::list list;
            for (const infer::SampleOutcome& o : outcomes) {
                py::dict d;
                d["sample"] = o.sample;
                d["outputs"] = o.outputs;
                d["blocks"] = o.blocks;
                d["computed"] = o.computed;
                d["finished"] = !o.left_unfinished;
                d["voxels_per_second"] = o.voxels_per_second;
                list.append(d);
            }
            return list;
        },
        py::arg("config"), py::arg("set"), py::arg("threads"), py::arg("overwrite"), py::arg("comm"), py::arg("log_level"),
        py::arg("sink"));
}
