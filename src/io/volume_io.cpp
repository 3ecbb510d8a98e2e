#include "znn/io/volume_io.hpp"

#include <unistd.h>

#include <filesystem>

#include "znn/io/atomic_file.hpp"

namespace znn::io {

VolumeInfo volume_info(const VolumeUri& uri)
{
    if (uri.format == FileFormat::Tiff) {
        const TiffInfo t = tiff_info(uri.path);
        return {t.dtype, t.shape, t.ndim};
    }
    const Hdf5File file = Hdf5File::open(uri.path, FileMode::Read);
    const Hdf5Dataset ds = Hdf5Dataset::open(file, uri.dataset);
    return {ds.info().dtype, ds.info().shape, static_cast<int>(ds.info().dims.size())};
}

tensor::AnyTensor read_volume(const VolumeUri& uri, const std::optional<core::Box3>& box)
{
    if (uri.format == FileFormat::Tiff) return read_tiff(uri.path, box);
    const Hdf5File file = Hdf5File::open(uri.path, FileMode::Read);
    const Hdf5Dataset ds = Hdf5Dataset::open(file, uri.dataset);
    return box ? ds.read_box(*box) : ds.read_all();
}

tensor::AnyTensor read_volume_collective(const VolumeUri& uri, const core::Box3& box, const dist::Comm& comm)
{
    if (uri.format == FileFormat::Tiff) return read_tiff(uri.path, box);
    const Hdf5File file = Hdf5File::open(uri.path, FileMode::Read, comm);
    const Hdf5Dataset ds = Hdf5Dataset::open(file, uri.dataset);
    return ds.read_box(box, Transfer::Collective);
}

void write_volume(const VolumeUri& uri, const tensor::AnyTensor& volume, const VolumeWriteOptions& options)
{
    std::error_code ec;
    if (!options.overwrite && std::filesystem::exists(uri.path, ec))
        throw core::InputError("file exists; choose another name, or replace it with --overwrite").at(uri.path);
    if (uri.format == FileFormat::Tiff) {
        write_tiff(uri.path, volume, options.tiff);
        return;
    }
    if (is_hdf5_file(uri.path)) {
        // Into the existing file, keeping its other datasets: the new dataset is written under a
        // temporary name and then takes the target's name in one link change, so a kill at any moment
        // leaves the old dataset or the new one (and at worst a stray temporary dataset).
        Hdf5File file = Hdf5File::open(uri.path, FileMode::ReadWrite);
        const std::string temp = uri.dataset + ".tmp-" + std::to_string(::getpid());
        Hdf5Dataset::create(file, temp, volume.dtype(), volume.shape(), volume.ndim(), options.hdf5).write_any({0, 0, 0}, volume);
        file.replace_link(temp, uri.dataset);
        file.close();
        return;
    }
    AtomicFile atomic(uri.path);
    {
        Hdf5File file = Hdf5File::create(atomic.temp_path());
        Hdf5Dataset::create(file, uri.dataset, volume.dtype(), volume.shape(), volume.ndim(), options.hdf5)
            .write_any({0, 0, 0}, volume);
        file.close();
    }
    atomic.commit();
}

}  // namespace znn::io
