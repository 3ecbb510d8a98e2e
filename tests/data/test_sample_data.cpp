// Loading samples and cutting patches: against direct slicing of the volumes, mirrored copies,
// hand-computed statistics, and (at 2 ranks) against the same sample loaded by one rank alone.

#include <gtest/gtest.h>

#include <set>

#include <cmath>
#include <limits>
#include <numeric>

#include "support/temp_dir.hpp"
#include "znn/core/error.hpp"
#include "znn/data/batch_loader.hpp"
#include "znn/data/preprocess.hpp"
#include "znn/data/sample_data.hpp"
#include "znn/io/volume_io.hpp"

using namespace znn;
using namespace znn::data;
using core::Box3;
using core::Vec3i;
using tensor::Tensor;

namespace {

io::VolumeWriteOptions overwrite()
{
    io::VolumeWriteOptions o;
    o.overwrite = true;
    return o;
}

/// Volumes of one sample written to files, with the sections that name them.
struct SampleFiles {
    config::ImageSection image;
    config::LabelSection label;
    Tensor<float> raw;
    Tensor<std::uint32_t> ids;
    Tensor<std::uint8_t> mask;

    config::ResolvedSample resolved(bool with_label = true) const
    {
        config::ResolvedSample r;
        r.id = 1;
        r.inputs["input"] = &image;
        if (with_label) r.outputs["output"] = &label;
        return r;
    }
};

/// Random raw data and small-ID labels (so affinities are often 1); TIFF for the image when asked.
SampleFiles make_sample(const test::TempDir& dir, Vec3i image_shape, Vec3i label_shape, bool with_mask, bool tiff_image = false,
                        std::uint64_t seed = 1)
{
    SampleFiles s;
    core::Rng rng(seed);
    s.raw = Tensor<float>(1, image_shape);
    for (std::int64_t i = 0; i < s.raw.count(); ++i) s.raw.data()[i] = static_cast<float>(rng.uniform_int(0, 255));
    s.ids = Tensor<std::uint32_t>(1, label_shape);
    for (std::int64_t i = 0; i < s.ids.count(); ++i) s.ids.data()[i] = static_cast<std::uint32_t>(rng.uniform_int(0, 3));
    const std::string image_file = tiff_image ? dir.file("raw.tif") : dir.file("sample.h5:/volumes/raw");
    if (tiff_image) {
        Tensor<std::uint8_t> u8(1, image_shape);
        for (std::int64_t i = 0; i < u8.count(); ++i) u8.data()[i] = static_cast<std::uint8_t>(s.raw.data()[i]);
        io::write_volume(io::VolumeUri::parse(image_file), tensor::AnyTensor(u8, 3), overwrite());
    } else {
        io::write_volume(io::VolumeUri::parse(image_file), tensor::AnyTensor(s.raw, 3), overwrite());
    }
    io::write_volume(io::VolumeUri::parse(dir.file("labels.h5:/ids")), tensor::AnyTensor(s.ids, 3), overwrite());
    s.image = {1, {image_file}, {config::Preprocess::None}, true, "test.spec:1", "test.spec:2"};
    s.label = {1, dir.file("labels.h5:/ids"), "auto", true, std::nullopt, "test.spec:5", "test.spec:6", "test.spec:7"};
    if (with_mask) {
        s.mask = Tensor<std::uint8_t>(1, label_shape);
        for (std::int64_t i = 0; i < s.mask.count(); ++i) s.mask.data()[i] = rng.bernoulli(0.6) ? 1 : 0;
        io::write_volume(io::VolumeUri::parse(dir.file("mask.tif")), tensor::AnyTensor(s.mask, 3), overwrite());
        s.label.mask = dir.file("mask.tif");
    }
    return s;
}

SampleOptions options_for(Vec3i in, Vec3i out, config::OutType type = config::OutType::Boundary)
{
    SampleOptions o;
    o.geometry.inputs["input"] = in;
    o.geometry.outputs["output"] = out;
    o.out_type = type;
    return o;
}

template <class T> Tensor<T> slice(const Tensor<T>& v, const Box3& b)
{
    Tensor<T> out(v.channels(), b.size);
    tensor::copy(v.box(b), out.view());
    return out;
}

template <class T> void expect_same(const Tensor<T>& a, const Tensor<T>& b, const std::string& what)
{
    ASSERT_EQ(a.shape(), b.shape()) << what;
    for (std::int64_t i = 0; i < a.count(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << what << " at " << i;
}

Tensor<float> boundary_of(const Tensor<std::uint32_t>& label)
{
    Tensor<float> t(2, label.size());
    boundary_targets(label.cview(), t.view());
    return t;
}

std::string load_error(const config::ResolvedSample& r, const SampleOptions& o)
{
    try {
        SampleData::load(r, o, dist::Comm::serial());
    } catch (const core::Error& e) {
        EXPECT_EQ(e.exit_code(), 2) << e.what();
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(SampleData, PatchesAreTheCentreAlignedBoxesOfTheVolumes)
{
    test::TempDir dir;
    // Image 4x14x13 and a label 4x10x9 smaller by an FOV of 1x5x5: the usual "valid" label.
    const SampleFiles f = make_sample(dir, {4, 14, 13}, {4, 10, 9}, false);
    const SampleOptions o = options_for({2, 7, 6}, {2, 3, 2});
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    const Box3 expected = intersect(deviation_range({4, 14, 13}, {2, 7, 6}), deviation_range({4, 10, 9}, {2, 3, 2}));
    EXPECT_EQ(s.deviations(), expected);
    EXPECT_EQ(s.candidates().count(), expected.voxels());
    for (std::int64_t k = 0; k < s.candidates().count(); k += 7) {
        const Vec3i d = s.candidates().at(k);
        const Patch p = s.extract(d, {}, nullptr);
        expect_same(p.inputs.at("input"), slice(f.raw, patch_box({4, 14, 13}, d, {2, 7, 6})), "input");
        expect_same(p.outputs.at("output").target, boundary_of(slice(f.ids, patch_box({4, 10, 9}, d, {2, 3, 2}))), "target");
        EXPECT_TRUE(p.outputs.at("output").mask.empty());
        EXPECT_TRUE(p.outputs.at("output").weight.empty());
    }
}

TEST(SampleData, MirroringMakesEveryLabelVoxelACandidate)
{
    test::TempDir dir;
    const Vec3i shape{3, 9, 10};
    const SampleFiles f = make_sample(dir, shape, shape, false, /*tiff_image=*/true);
    SampleOptions o = options_for({3, 8, 7}, {1, 3, 3});  // FOV 3x6x5: an even FOV in y
    o.mirror = true;
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    EXPECT_EQ(s.candidates().count(), deviation_range(shape, {1, 3, 3}).voxels());
    const Vec3i fov{3, 6, 5};
    const Tensor<float> padded = mirror_pad(f.raw, low_margin(fov), high_margin(fov));
    for (std::int64_t k : {std::int64_t(0), s.candidates().count() / 2, s.candidates().count() - 1}) {
        const Vec3i d = s.candidates().at(k);
        const Patch p = s.extract(d, {}, nullptr);
        expect_same(p.inputs.at("input"), slice(padded, patch_box(padded.size(), d, {3, 8, 7})), "mirrored input");
    }
}

TEST(SampleData, MasksThinTheCandidatesToMaskedCentreVoxels)
{
    test::TempDir dir;
    const Vec3i shape{2, 8, 8};
    const SampleFiles f = make_sample(dir, shape, shape, true);
    const SampleOptions o = options_for({1, 3, 3}, {1, 3, 3});
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    const Box3 devs = deviation_range(shape, {1, 3, 3});
    std::int64_t expected = 0;
    for (std::int64_t k = 0; k < devs.voxels(); ++k) {
        const Vec3i d = CandidateSet::all(devs).at(k);
        const Vec3i c = volume_centre(shape) + d;
        expected += f.mask(0, c.z, c.y, c.x) > 0;
    }
    ASSERT_GT(expected, 0);
    EXPECT_EQ(s.candidates().count(), expected);
    for (std::int64_t k = 0; k < s.candidates().count(); ++k) {
        const Vec3i c = volume_centre(shape) + s.candidates().at(k);
        ASSERT_GT(f.mask(0, c.z, c.y, c.x), 0);
    }
    // The patch's mask is the label mask on both channels.
    const Patch p = s.extract(s.candidates().at(0), {}, nullptr);
    const Tensor<std::uint8_t> m = slice(f.mask, patch_box(shape, s.candidates().at(0), {1, 3, 3}));
    const Tensor<float>& pm = p.outputs.at("output").mask;
    ASSERT_EQ(pm.channels(), 2);
    for (std::int64_t i = 0; i < m.count(); ++i) {
        EXPECT_EQ(pm.data()[i], m.data()[i] > 0 ? 1.0f : 0.0f);
        EXPECT_EQ(pm.data()[m.count() + i], m.data()[i] > 0 ? 1.0f : 0.0f);
    }
}

TEST(SampleData, AffinityPatchesAreOneVoxelLargerWithTheFirstInputVoxelDropped)
{
    test::TempDir dir;
    const Vec3i shape{5, 9, 9};
    const SampleFiles f = make_sample(dir, shape, shape, true);
    const SampleOptions o = options_for({3, 4, 4}, {3, 4, 4}, config::OutType::Affinity);
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    EXPECT_EQ(s.deviations(), deviation_range(shape, {4, 5, 5}));
    const Vec3i d = s.candidates().at(s.candidates().count() / 3);
    const Patch p = s.extract(d, {}, nullptr);
    const Box3 fetched = patch_box(shape, d, {4, 5, 5});
    expect_same(p.inputs.at("input"), slice(f.raw, {fetched.origin + 1, {3, 4, 4}}), "input [1:]");
    Tensor<float> aff(3, {3, 4, 4}), mask(3, {3, 4, 4});
    affinity_targets(slice(f.ids, fetched).cview(), aff.view());
    affinity_mask(slice(f.mask, fetched).cview(), mask.view());
    expect_same(p.outputs.at("output").target, aff, "affinity");
    expect_same(p.outputs.at("output").mask, mask, "affinity mask");
}

TEST(SampleData, PreprocessingUsesStatisticsOfTheWholeStoredVolume)
{
    test::TempDir dir;
    const Vec3i shape{3, 6, 7};
    SampleFiles f = make_sample(dir, shape, shape, false);
    SampleOptions o = options_for({1, 4, 3}, {1, 2, 1});
    o.mirror = true;
    for (const config::Preprocess pp : {config::Preprocess::Standard2D, config::Preprocess::Standard3D, config::Preprocess::SymmetricRescale}) {
        f.image.preprocess = {pp};
        // Expected: the volume preprocessed with numpy-style statistics, then mirrored.
        Tensor<float> expected = f.raw;
        auto normalise = [&](std::int64_t z0, std::int64_t nz) {
            double sum = 0, sq = 0, lo = 1e30, hi = -1e30, n = 0;
            for (std::int64_t z = z0; z < z0 + nz; ++z)
                for (std::int64_t i = 0; i < shape.y * shape.x; ++i) {
                    const double v = f.raw.data()[z * shape.y * shape.x + i];
                    sum += v, sq += v * v, n += 1, lo = std::min(lo, v), hi = std::max(hi, v);
                }
            const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
            for (std::int64_t z = z0; z < z0 + nz; ++z)
                for (std::int64_t i = 0; i < shape.y * shape.x; ++i) {
                    float& v = expected.data()[z * shape.y * shape.x + i];
                    v = pp == config::Preprocess::SymmetricRescale ? static_cast<float>((v - lo) * 2 / (hi - lo) - 1)
                                                                   : static_cast<float>((v - mean) / sd);
                }
        };
        if (pp == config::Preprocess::Standard2D)
            for (std::int64_t z = 0; z < shape.z; ++z) normalise(z, 1);
        else
            normalise(0, shape.z);
        const Vec3i fov{1, 3, 3};
        const Tensor<float> padded = mirror_pad(expected, low_margin(fov), high_margin(fov));
        const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
        for (std::int64_t k = 0; k < s.candidates().count(); k += 5) {
            const Vec3i d = s.candidates().at(k);
            const Tensor<float> got = s.extract(d, {}, nullptr).inputs.at("input");
            const Tensor<float> want = slice(padded, patch_box(padded.size(), d, {1, 4, 3}));
            for (std::int64_t i = 0; i < got.count(); ++i) ASSERT_NEAR(got.data()[i], want.data()[i], 1e-5) << config::to_string(pp);
        }
    }
}

TEST(SampleData, RebalanceWeightsGlobalAndPerPatch)
{
    test::TempDir dir;
    const Vec3i shape{2, 6, 6};
    const SampleFiles f = make_sample(dir, shape, shape, true);
    SampleOptions o = options_for({1, 2, 2}, {1, 2, 2});
    o.rebalance = config::Rebalance::Global;
    std::int64_t pn = 0, zn = 0;
    for (std::int64_t i = 0; i < f.ids.count(); ++i)
        if (f.mask.data()[i] > 0) ++(f.ids.data()[i] > 0 ? pn : zn);
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    const Patch p = s.extract(s.candidates().at(0), {}, nullptr);
    const PatchTarget& t = p.outputs.at("output");
    const double n = double(pn + zn);
    for (std::int64_t i = 0; i < 4; ++i) {
        const bool inside = t.target.data()[i] > 0.5f;
        EXPECT_FLOAT_EQ(t.weight.data()[i], float(inside ? 0.5 * n / double(pn) : 0.5 * n / double(zn)));
        EXPECT_FLOAT_EQ(t.weight.data()[4 + i], t.weight.data()[i]);  // the same weight on both channels
    }

    o.rebalance = config::Rebalance::Patch;
    const SampleData sp = SampleData::load(f.resolved(), o, dist::Comm::serial());
    for (std::int64_t k = 0; k < sp.candidates().count(); ++k) {
        const PatchTarget pt = sp.extract(sp.candidates().at(k), {}, nullptr).outputs.at("output");
        std::int64_t ppos = 0, pzero = 0;
        for (std::int64_t i = 0; i < 4; ++i)
            if (pt.mask.data()[i] > 0) ++(pt.target.data()[i] > 0.5f ? ppos : pzero);
        const ClassWeights w = normalized_weights(ppos, pzero);
        for (std::int64_t i = 0; i < 4; ++i)
            ASSERT_FLOAT_EQ(pt.weight.data()[i], float(pt.target.data()[i] > 0.5f ? w.positive : w.zero));
    }
}

TEST(SampleData, EveryTransformAndMisalignmentKeepInputsAndLabelsAligned)
{
    // The input is the label itself (as float), so after any augmentation the inside-of-cell target
    // must equal (input > 0) at the input voxel level with it (odd FOV: a fixed offset).
    test::TempDir dir;
    const Vec3i shape{6, 20, 20};
    SampleFiles f = make_sample(dir, shape, shape, false);
    Tensor<float> as_float(1, shape);
    for (std::int64_t i = 0; i < f.ids.count(); ++i) as_float.data()[i] = float(f.ids.data()[i]);
    io::write_volume(io::VolumeUri::parse(dir.file("sample.h5:/volumes/raw")), tensor::AnyTensor(as_float, 3), overwrite());
    SampleOptions o = options_for({4, 8, 8}, {2, 4, 4});  // FOV 3x5x5
    o.augment.flips = o.augment.transpose = o.augment.rot90 = true;
    o.augment.misalign = 1.0;
    o.augment.misalign_pixels = 2;
    const SampleData s = SampleData::load(f.resolved(), o, dist::Comm::serial());
    const auto source = std::make_shared<PatchSource>(std::vector<SampleData>{s}, o.augment, true);
    int misaligned = 0;
    for (std::int64_t b = 0; b < 60; ++b) {
        const Patch p = BatchLoader::make_batch(*source, {.seed = 3}, b).front();
        misaligned += p.misaligned;
        const Tensor<float>& in = p.inputs.at("input");
        const Tensor<float>& target = p.outputs.at("output").target;
        ASSERT_EQ(in.size(), (Vec3i{4, 8, 8}));
        for (std::int64_t z = 0; z < 2; ++z)
            for (std::int64_t y = 0; y < 4; ++y)
                for (std::int64_t x = 0; x < 4; ++x)
                    ASSERT_EQ(target(0, z, y, x), in(0, z + 1, y + 2, x + 2) > 0 ? 1.0f : 0.0f) << "batch " << b;
    }
    EXPECT_GT(misaligned, 20);
}

/// A volume whose value is 1000·tag + its flat index: a patch's values say where it was cut.
Tensor<float> index_volume(const Vec3i& shape, int tag)
{
    Tensor<float> v(1, shape);
    for (std::int64_t i = 0; i < v.count(); ++i) v.data()[i] = static_cast<float>(1000 * tag + i);
    return v;
}

// Several image files of one [imageN] are stacked as channels, in the order fnames lists them.
TEST(SampleData, SeveralImageFilesAreStackedAsChannels)
{
    test::TempDir dir;
    const Vec3i shape{2, 6, 7};
    SampleFiles f = make_sample(dir, shape, shape, false);
    io::write_volume(io::VolumeUri::parse(dir.file("first.h5")), tensor::AnyTensor(index_volume(shape, 1), 3), overwrite());
    io::write_volume(io::VolumeUri::parse(dir.file("second.h5")), tensor::AnyTensor(index_volume(shape, 5), 3), overwrite());
    f.image.files = {dir.file("first.h5"), dir.file("second.h5")};
    f.image.preprocess = {config::Preprocess::None, config::Preprocess::None};
    const SampleData data = SampleData::load(f.resolved(), options_for({1, 3, 3}, {1, 1, 1}), dist::Comm::serial());
    ASSERT_GT(data.candidates().count(), 0);
    for (std::int64_t k = 0; k < data.candidates().count(); ++k) {
        const Patch p = data.extract(data.candidates().at(k), {}, nullptr);
        const Tensor<float>& in = p.inputs.at("input");
        ASSERT_EQ(in.shape(), (tensor::Shape4{2, {1, 3, 3}}));
        for (std::int64_t i = 0; i < 9; ++i) {
            EXPECT_GE(in.data()[i], 1000.0f);
            EXPECT_LT(in.data()[i], 2000.0f);                      // channel 0: the first file
            EXPECT_EQ(in.data()[9 + i], in.data()[i] + 4000.0f);  // channel 1: the second, at the same voxel
        }
    }
}

// Two output nodes, each with its mask: a position is a candidate only where both masks allow it.
TEST(SampleData, SeveralOutputMasksSelectCandidatesTogether)
{
    test::TempDir dir;
    const Vec3i shape{1, 8, 9};
    SampleFiles f = make_sample(dir, shape, shape, false);
    io::write_volume(io::VolumeUri::parse(dir.file("index.h5")), tensor::AnyTensor(index_volume(shape, 0), 3), overwrite());
    f.image.files = {dir.file("index.h5")};
    Tensor<std::uint8_t> left(1, shape), top(1, shape);
    for (std::int64_t y = 0; y < shape.y; ++y)
        for (std::int64_t x = 0; x < shape.x; ++x) {
            left(0, 0, y, x) = x < 5 ? 1 : 0;
            top(0, 0, y, x) = y < 4 ? 1 : 0;
        }
    io::write_volume(io::VolumeUri::parse(dir.file("left.tif")), tensor::AnyTensor(left, 3), overwrite());
    io::write_volume(io::VolumeUri::parse(dir.file("top.tif")), tensor::AnyTensor(top, 3), overwrite());
    f.label.mask = dir.file("left.tif");
    config::LabelSection second = f.label;
    second.mask = dir.file("top.tif");
    config::ResolvedSample r = f.resolved();
    r.outputs["output2"] = &second;
    SampleOptions o = options_for({1, 1, 1}, {1, 1, 1});
    o.geometry.outputs["output2"] = {1, 1, 1};
    const SampleData data = SampleData::load(r, o, dist::Comm::serial());
    std::set<std::pair<std::int64_t, std::int64_t>> got;
    for (std::int64_t k = 0; k < data.candidates().count(); ++k) {
        const Patch p = data.extract(data.candidates().at(k), {}, nullptr);
        const auto at = static_cast<std::int64_t>(p.inputs.at("input").data()[0]);  // the flat index of the voxel
        got.insert({at / shape.x, at % shape.x});
    }
    std::set<std::pair<std::int64_t, std::int64_t>> want;
    for (std::int64_t y = 0; y < 4; ++y)
        for (std::int64_t x = 0; x < 5; ++x) want.insert({y, x});
    EXPECT_EQ(got, want);
}

TEST(SampleData, ReportsEveryVolumeProblemWithItsLocation)
{
    test::TempDir dir;
    SampleFiles f = make_sample(dir, {2, 6, 6}, {2, 6, 6}, true);
    const SampleOptions o = options_for({1, 3, 3}, {1, 3, 3});

    SampleFiles missing = f;
    missing.image.files = {dir.file("nope.h5")};
    missing.label.file = dir.file("labels.h5:/nothing");
    const std::string e1 = load_error(missing.resolved(), o);
    // Each names the line of its fnames, not the section header.
    EXPECT_NE(e1.find("test.spec:2: "), std::string::npos) << e1;
    EXPECT_NE(e1.find("nope.h5"), std::string::npos) << e1;
    EXPECT_NE(e1.find("test.spec:6: "), std::string::npos) << e1;
    EXPECT_NE(e1.find("/nothing"), std::string::npos) << e1;

    // A mask of another size without auto-crop.
    Tensor<std::uint8_t> small(1, {2, 5, 6});
    io::write_volume(io::VolumeUri::parse(dir.file("small.tif")), tensor::AnyTensor(small, 3), overwrite());
    SampleFiles crop = f;
    crop.label.mask = dir.file("small.tif");
    crop.label.auto_crop = false;
    const std::string e2 = load_error(crop.resolved(), o);
    EXPECT_NE(e2.find("differ in size and is_auto_crop is off"), std::string::npos) << e2;
    crop.label.auto_crop = true;  // centre-cropped instead
    EXPECT_EQ(load_error(crop.resolved(), o), "(no error)");

    // A two-channel label.
    io::write_volume(io::VolumeUri::parse(dir.file("two.h5")), tensor::AnyTensor(Tensor<std::uint32_t>(2, {2, 6, 6})), overwrite());
    SampleFiles two = f;
    two.label.file = dir.file("two.h5");
    EXPECT_NE(load_error(two.resolved(), o).find("a label volume has one channel"), std::string::npos);

    // NaN or an infinity (either sign) in an input volume: named with its first position, whether
    // preprocessed or not.
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
        Tensor<float> with_nan = f.raw;
        with_nan(0, 1, 4, 2) = bad;
        with_nan(0, 1, 5, 0) = bad;
        io::write_volume(io::VolumeUri::parse(dir.file("nan.h5")), tensor::AnyTensor(with_nan, 3), overwrite());
        SampleFiles nan = f;
        nan.image.files = {dir.file("nan.h5")};
        for (const config::Preprocess pp : {config::Preprocess::None, config::Preprocess::Standard2D}) {
            SCOPED_TRACE(std::to_string(bad) + " " + std::string(config::to_string(pp)));
            nan.image.preprocess = {pp};
            const std::string e = load_error(nan.resolved(), o);
            EXPECT_NE(e.find("nan.h5:/main: the volume holds NaN or infinite values (the first at channel 0, z,y,x 1,4,2)"), std::string::npos) << e;
        }
    }

    // A patch that fits nowhere.
    const std::string e3 = load_error(f.resolved(), options_for({3, 3, 3}, {3, 3, 3}));
    EXPECT_NE(e3.find("no patch position fits"), std::string::npos) << e3;
    EXPECT_NE(e3.find("is_bd_mirror"), std::string::npos) << e3;
}

TEST(BatchLoader, BatchesDependOnlyOnSeedAndIndex)
{
    test::TempDir dir;
    const SampleFiles f = make_sample(dir, {3, 12, 12}, {3, 12, 12}, true);
    SampleOptions o = options_for({1, 5, 5}, {1, 3, 3});
    o.augment.flips = o.augment.transpose = true;
    o.augment.grayscale = 0.5;
    const auto source = std::make_shared<PatchSource>(std::vector<SampleData>{SampleData::load(f.resolved(), o, dist::Comm::serial())},
                                                      o.augment, true);
    std::vector<std::vector<Patch>> one, three, resumed;
    {
        BatchLoader loader(source, {.batch_size = 2, .seed = 7, .threads = 1});
        for (int i = 0; i < 12; ++i) one.push_back(loader.next());
    }
    {
        BatchLoader loader(source, {.batch_size = 2, .seed = 7, .threads = 3, .depth = 4});
        for (int i = 0; i < 12; ++i) three.push_back(loader.next());
    }
    {
        BatchLoader loader(source, {.batch_size = 2, .seed = 7, .first_batch = 5});
        for (int i = 5; i < 12; ++i) resumed.push_back(loader.next());
    }
    for (std::size_t b = 0; b < one.size(); ++b)
        for (std::size_t i = 0; i < 2; ++i) {
            EXPECT_EQ(one[b][i].deviation, three[b][i].deviation);
            expect_same(one[b][i].inputs.at("input"), three[b][i].inputs.at("input"), "threads");
            if (b >= 5) expect_same(one[b][i].inputs.at("input"), resumed[b - 5][i].inputs.at("input"), "resumed");
        }
    bool differ = false;
    for (std::size_t b = 1; b < one.size(); ++b) differ = differ || one[b][0].deviation != one[0][0].deviation;
    EXPECT_TRUE(differ);
    // Another seed, another sequence.
    BatchLoader other(source, {.batch_size = 2, .seed = 8});
    int same_positions = 0;
    for (std::size_t b = 0; b < one.size(); ++b) same_positions += other.next()[0].deviation == one[b][0].deviation;
    EXPECT_LT(same_positions, 6);
}

TEST(BatchLoader, AnErrorWhilePreparingABatchReachesTheConsumer)
{
    test::TempDir dir;
    const SampleFiles f = make_sample(dir, {1, 6, 6}, {1, 6, 6}, false);  // labels 0..3
    SampleOptions o = options_for({1, 2, 2}, {1, 2, 2}, config::OutType::Semantic);
    o.num_classes = 2;  // labels 2 and 3 are not classes
    const auto source = std::make_shared<PatchSource>(std::vector<SampleData>{SampleData::load(f.resolved(), o, dist::Comm::serial())},
                                                      o.augment, false);
    BatchLoader loader(source, {.batch_size = 8, .seed = 1, .threads = 2});
    try {
        for (int i = 0; i < 10; ++i) loader.next();
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("is not a class (num_classes = 2)"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("labels.h5:/ids"), std::string::npos) << e.what();
    }
}

TEST(SampleDataMpi, RanksSplitTheCandidatesAndAgreeWithOneRank)
{
    const dist::Comm world = dist::Comm::world();
    // A 3D volume, and a single section (some rank then gathers statistics of no section at all).
    for (const Vec3i shape : {Vec3i{8, 10, 9}, Vec3i{1, 12, 9}})
        for (const config::OutType type : {config::OutType::Boundary, config::OutType::Affinity}) {
            if (type == config::OutType::Affinity && shape.z == 1) continue;  // affinities need 2 sections
            SCOPED_TRACE(core::to_string(shape) + " " + std::string(config::to_string(type)));
            test::TempDir dir(world);
            SampleFiles f;
            if (world.is_root()) f = make_sample(dir, shape, shape, true);
            world.barrier();
            // Every rank names the files rank 0 wrote.
            f.image = {1, {dir.file("sample.h5:/volumes/raw")}, {config::Preprocess::Standard3D}, true, "test.spec:1", "test.spec:2"};
            f.label = {1, dir.file("labels.h5:/ids"), "auto", true, dir.file("mask.tif"), "test.spec:5", "test.spec:6", "test.spec:7"};
            SampleOptions o = options_for({shape.z > 1 ? 3 : 1, 3, 3}, {1, 1, 1}, type);
            o.mirror = true;
            o.rebalance = config::Rebalance::Global;

            const SampleData split = SampleData::load(f.resolved(), o, world);
            const SampleData whole = SampleData::load(f.resolved(), o, dist::Comm::serial());
            // Disjoint slabs whose candidates add up to all of them.
            EXPECT_TRUE(whole.candidates().box().contains(split.candidates().box()));
            EXPECT_EQ(world.sum<std::int64_t>(split.candidates().count()), whole.candidates().count());
            EXPECT_EQ(world.sum<std::int64_t>(split.candidates().box().voxels()), whole.candidates().box().voxels());
            {  // and no two ranks' slabs share a voxel
                const core::Box3 mine = split.candidates().box();
                std::vector<core::Box3> slabs;
                for (int a = 0; a < 3; ++a) {
                    const std::vector<std::int64_t> origins = world.allgather(mine.origin[a]), sizes = world.allgather(mine.size[a]);
                    slabs.resize(origins.size());
                    for (std::size_t r = 0; r < origins.size(); ++r) {
                        slabs[r].origin[a] = origins[r];
                        slabs[r].size[a] = sizes[r];
                    }
                }
                for (std::size_t r = 0; r < slabs.size(); ++r)
                    for (std::size_t q = r + 1; q < slabs.size(); ++q)
                        EXPECT_TRUE(core::intersect(slabs[r], slabs[q]).empty() || slabs[r].empty() || slabs[q].empty())
                            << "ranks " << r << " and " << q << " share part of " << core::to_string(slabs[r].origin) << "+"
                            << core::to_string(slabs[r].size);
            }
            if (world.size() > 1) {
                EXPECT_LT(split.bytes_held(), whole.bytes_held());
            }
            // Identical patches (preprocessing and weights from the same whole-volume statistics).
            for (std::int64_t k = 0; k < split.candidates().count(); k += 3) {
                const Vec3i d = split.candidates().at(k);
                const Patch a = split.extract(d, {}, nullptr), b = whole.extract(d, {}, nullptr);
                expect_same(a.inputs.at("input"), b.inputs.at("input"), "input");
                expect_same(a.outputs.at("output").target, b.outputs.at("output").target, "target");
                expect_same(a.outputs.at("output").weight, b.outputs.at("output").weight, "weight");
            }
        }
}
