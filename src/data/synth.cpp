#include "znn/data/synth.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <unordered_map>

#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/data/augment.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::data {
namespace {

using P3 = std::array<double, 3>;  // physical (z, y, x)

/// A smooth random displacement field: three plane waves per component.
struct Warp {
    struct Wave {
        P3 k;
        double phase;
        double amplitude;
    };
    std::array<std::array<Wave, 3>, 3> waves;

    Warp(core::Rng& rng, double amplitude)
    {
        for (auto& component : waves)
            for (Wave& w : component) {
                const double wavelength = rng.uniform(40.0, 90.0);
                P3 dir{rng.normal(), rng.normal(), rng.normal()};
                const double n = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]) + 1e-12;
                for (double& v : dir) v *= 2 * std::numbers::pi / wavelength / n;
                w = {dir, rng.uniform(0.0, 2 * std::numbers::pi), amplitude / std::sqrt(3.0)};
            }
    }
    P3 operator()(const P3& p) const
    {
        P3 q = p;
        for (int c = 0; c < 3; ++c)
            for (const Wave& w : waves[static_cast<std::size_t>(c)])
                q[static_cast<std::size_t>(c)] += w.amplitude * std::sin(w.k[0] * p[0] + w.k[1] * p[1] + w.k[2] * p[2] + w.phase);
        return q;
    }
};

/// Jittered-grid seeds with power-diagram weights.
struct Seeds {
    double spacing;
    std::array<std::int64_t, 3> n;  // grid cells per axis, covering [-spacing, extent + spacing)
    std::vector<P3> position;
    std::vector<double> weight;

    Seeds(core::Rng& rng, const P3& extent, double g) : spacing(g)
    {
        for (int a = 0; a < 3; ++a) n[static_cast<std::size_t>(a)] = static_cast<std::int64_t>(std::ceil(extent[static_cast<std::size_t>(a)] / g)) + 2;
        for (std::int64_t i = 0; i < n[0]; ++i)
            for (std::int64_t j = 0; j < n[1]; ++j)
                for (std::int64_t k = 0; k < n[2]; ++k) {
                    position.push_back({(double(i) - 1 + rng.uniform(0.15, 0.85)) * g, (double(j) - 1 + rng.uniform(0.15, 0.85)) * g,
                                        (double(k) - 1 + rng.uniform(0.15, 0.85)) * g});
                    weight.push_back(rng.uniform(-0.3, 0.3) * g * g);
                }
    }
    std::int64_t cell_of(double v, int axis) const
    {
        return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(v / spacing)) + 1, 0, n[static_cast<std::size_t>(axis)] - 1);
    }
    std::int64_t index(std::int64_t i, std::int64_t j, std::int64_t k) const { return (i * n[1] + j) * n[2] + k; }
};

double dist2(const P3& a, const P3& b)
{
    const double dz = a[0] - b[0], dy = a[1] - b[1], dx = a[2] - b[2];
    return dz * dz + dy * dy + dx * dx;
}

}  // namespace

SynthVolume synthesize(const SynthParams& p, std::uint64_t seed, std::uint64_t index)
{
    ZNN_CHECK(p.shape.min_component() >= 1, "synthesize: empty shape");
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Synthetic, index);
    const core::Vec3i S = p.shape;
    const P3 extent{double(S.z) * p.anisotropy, double(S.y), double(S.x)};
    const Seeds seeds(rng, extent, p.cell_spacing);
    const Warp warp(rng, p.warp);

    SynthVolume v;
    v.labels = tensor::Tensor<std::uint32_t>(1, S);
    std::vector<std::int64_t> owner(static_cast<std::size_t>(S.product()));  // seed of each voxel
    std::unordered_map<std::int64_t, std::uint32_t> ids;
    for (std::int64_t z = 0; z < S.z; ++z)
        for (std::int64_t y = 0; y < S.y; ++y)
            for (std::int64_t x = 0; x < S.x; ++x) {
                const P3 q = warp({(double(z) + 0.5) * p.anisotropy, double(y) + 0.5, double(x) + 0.5});
                const std::int64_t ci = seeds.cell_of(q[0], 0), cj = seeds.cell_of(q[1], 1), ck = seeds.cell_of(q[2], 2);
                double best = std::numeric_limits<double>::infinity(), second = best;
                std::int64_t b1 = -1, b2 = -1;
                for (std::int64_t i = std::max<std::int64_t>(0, ci - 1); i <= std::min(seeds.n[0] - 1, ci + 1); ++i)
                    for (std::int64_t j = std::max<std::int64_t>(0, cj - 1); j <= std::min(seeds.n[1] - 1, cj + 1); ++j)
                        for (std::int64_t k = std::max<std::int64_t>(0, ck - 1); k <= std::min(seeds.n[2] - 1, ck + 1); ++k) {
                            const std::int64_t s = seeds.index(i, j, k);
                            const double power = dist2(q, seeds.position[static_cast<std::size_t>(s)]) - seeds.weight[static_cast<std::size_t>(s)];
                            if (power < best) {
                                second = best;
                                b2 = b1;
                                best = power;
                                b1 = s;
                            } else if (power < second) {
                                second = power;
                                b2 = s;
                            }
                        }
                const std::size_t at = static_cast<std::size_t>((z * S.y + y) * S.x + x);
                owner[at] = b1;
                // Distance from q to the wall between the two nearest cells (power diagram bisector).
                const double gap = std::sqrt(dist2(seeds.position[static_cast<std::size_t>(b1)], seeds.position[static_cast<std::size_t>(b2)]));
                const double wall = (second - best) / (2 * gap);
                if (wall < p.membrane / 2) continue;  // membrane: label 0
                auto [it, inserted] = ids.try_emplace(b1, static_cast<std::uint32_t>(ids.size() + 1));
                v.labels(0, z, y, x) = it->second;
            }
    v.cells = static_cast<std::int64_t>(ids.size());

    // The image: cell brightness, membranes, vesicles; blur; noise.
    std::unordered_map<std::int64_t, float> brightness;
    tensor::Tensor<float> image(1, S, core::Init::Uninitialized);
    for (std::int64_t z = 0; z < S.z; ++z)
        for (std::int64_t y = 0; y < S.y; ++y)
            for (std::int64_t x = 0; x < S.x; ++x) {
                if (v.labels(0, z, y, x) == 0) {
                    image(0, z, y, x) = 0.12f;
                    continue;
                }
                const std::int64_t s = owner[static_cast<std::size_t>((z * S.y + y) * S.x + x)];
                auto [it, inserted] = brightness.try_emplace(s, 0.0f);
                if (inserted) it->second = static_cast<float>(rng.uniform(0.55, 0.85));
                image(0, z, y, x) = it->second;
            }
    const std::int64_t vesicles = std::max<std::int64_t>(1, S.product() / 3000);
    for (std::int64_t n = 0; n < vesicles; ++n) {
        const double cz = rng.uniform(0, double(S.z)), cy = rng.uniform(0, double(S.y)), cx = rng.uniform(0, double(S.x));
        const double r = rng.uniform(1.2, 2.8);
        const auto rz = static_cast<std::int64_t>(std::ceil(r / p.anisotropy));
        const auto ri = static_cast<std::int64_t>(std::ceil(r));
        for (auto z = static_cast<std::int64_t>(cz) - rz; z <= static_cast<std::int64_t>(cz) + rz; ++z)
            for (auto y = static_cast<std::int64_t>(cy) - ri; y <= static_cast<std::int64_t>(cy) + ri; ++y)
                for (auto x = static_cast<std::int64_t>(cx) - ri; x <= static_cast<std::int64_t>(cx) + ri; ++x) {
                    if (z < 0 || y < 0 || x < 0 || z >= S.z || y >= S.y || x >= S.x || v.labels(0, z, y, x) == 0) continue;
                    const double dz = (double(z) + 0.5 - cz) * p.anisotropy, dy = double(y) + 0.5 - cy, dx = double(x) + 0.5 - cx;
                    if (dz * dz + dy * dy + dx * dx <= r * r) image(0, z, y, x) -= 0.22f;
                }
    }
    if (p.blur_z > 0 && S.z > 1) gaussian_blur(image.view(), 0, p.blur_z);
    if (p.blur_xy > 0) {
        gaussian_blur(image.view(), 1, p.blur_xy);
        gaussian_blur(image.view(), 2, p.blur_xy);
    }
    v.image = tensor::Tensor<std::uint8_t>(1, S, core::Init::Uninitialized);
    for (std::int64_t i = 0; i < image.count(); ++i) {
        const double u = std::clamp(double(image.data()[i]) + p.noise * rng.normal(), 0.0, 1.0);
        v.image.data()[i] = static_cast<std::uint8_t>(std::lround(u * 255));
    }

    // The mask: a band along x = 0 of the lower third of the sections is "not annotated".
    v.mask = tensor::Tensor<std::uint8_t>(1, S);
    tensor::fill(v.mask.view(), std::uint8_t{1});
    const core::Box3 band{{0, 0, 0}, {std::max<std::int64_t>(1, S.z / 3), S.y, std::max<std::int64_t>(1, S.x / 6)}};
    tensor::fill(v.mask.box(band), std::uint8_t{0});
    return v;
}

namespace {

void write_cremi(const std::string& path, const SynthVolume& v)
{
    io::AtomicFile atomic(path);
    {
        io::Hdf5File file = io::Hdf5File::create(atomic.temp_path());
        auto put = [&](std::string_view name, const tensor::AnyTensor& t) {
            io::Hdf5Dataset::create(file, name, t.dtype(), t.shape(), 3).write_any({0, 0, 0}, t);
        };
        put("/volumes/raw", tensor::AnyTensor(v.image, 3));
        put("/volumes/labels/neuron_ids", tensor::AnyTensor(v.labels, 3));
        put("/volumes/labels/mask", tensor::AnyTensor(v.mask, 3));
        file.close();
    }
    atomic.commit();
}

std::string spec_text(const SynthParams& p, std::uint64_t seed)
{
    const std::string shape = core::to_string(p.shape);
    return "# Synthetic EM-like data written by `znn synth --shape " + shape + " --seed " + std::to_string(seed) +
           "`.\n"
           "# Sample 1 (training) reads the CREMI-style HDF5 file, sample 2 (test) the TIFF stacks of\n"
           "# another volume. Labels are cell IDs with 0 on membranes; masks exclude an unannotated band.\n"
           "# Paths are relative to this file. The keys of [sampleN] are the network's node names.\n\n"
           "[image1]\nfnames = train.h5:/volumes/raw\npp_types = standard2D\nis_auto_crop = yes\n\n"
           "[label1]\nfnames = train.h5:/volumes/labels/neuron_ids\npp_types = auto\nis_auto_crop = yes\n"
           "fmasks = train.h5:/volumes/labels/mask\n\n"
           "[sample1]\ninput = 1\noutput = 1\n\n"
           "[image2]\nfnames = test-raw.tif\npp_types = standard2D\nis_auto_crop = yes\n\n"
           "[label2]\nfnames = test-labels.tif\npp_types = auto\nis_auto_crop = yes\nfmasks = test-mask.tif\n\n"
           "[sample2]\ninput = 2\noutput = 2\n";
}

}  // namespace

SynthDataset write_synthetic_dataset(const std::string& dir, const SynthParams& params, std::uint64_t seed, bool overwrite)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw core::InputError("cannot create the directory: " + ec.message()).at(dir);
    SynthDataset out;
    out.spec = (fs::path(dir) / "synth.spec").string();
    const std::vector<std::string> names = {"train.h5", "train-raw.tif", "train-labels.tif", "train-mask.tif",
                                            "test.h5",  "test-raw.tif",  "test-labels.tif",  "test-mask.tif"};
    for (const std::string& n : names) out.files.push_back((fs::path(dir) / n).string());
    if (!overwrite)
        for (const std::string& f : out.files)
            if (fs::exists(f, ec)) throw core::InputError("file exists (use --overwrite to replace it)").at(f);

    io::VolumeWriteOptions options;
    options.overwrite = true;
    for (std::uint64_t index = 0; index < 2; ++index) {
        const SynthVolume v = synthesize(params, seed, index);
        const std::size_t first = index * 4;
        write_cremi(out.files[first], v);
        io::write_volume(io::VolumeUri::parse(out.files[first + 1]), tensor::AnyTensor(v.image, 3), options);
        // 16-bit labels when the IDs fit: every TIFF reader (Fiji included) opens those.
        if (v.cells < 65536) {
            tensor::Tensor<std::uint16_t> l16(1, params.shape, core::Init::Uninitialized);
            std::transform(v.labels.data(), v.labels.data() + v.labels.count(), l16.data(), [](std::uint32_t l) { return std::uint16_t(l); });
            io::write_volume(io::VolumeUri::parse(out.files[first + 2]), tensor::AnyTensor(std::move(l16), 3), options);
        } else {
            io::write_volume(io::VolumeUri::parse(out.files[first + 2]), tensor::AnyTensor(v.labels, 3), options);
        }
        io::write_volume(io::VolumeUri::parse(out.files[first + 3]), tensor::AnyTensor(v.mask, 3), options);
    }
    io::AtomicFile spec(out.spec);
    {
        std::ofstream f(spec.temp_path());
        f << spec_text(params, seed);
        if (!f.flush()) throw core::IoError("cannot write the spec file").at(out.spec);
    }
    spec.commit();
    out.files.push_back(out.spec);
    return out;
}

}  // namespace znn::data
