// The synthetic dataset: deterministic, EM-like by simple measures, and loadable through its spec.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "support/temp_dir.hpp"
#include "znn/config/job_files.hpp"
#include "znn/core/error.hpp"
#include "znn/data/sample_data.hpp"
#include "znn/data/synth.hpp"
#include "znn/io/volume_io.hpp"

using namespace znn;
using namespace znn::data;
using core::Vec3i;

namespace {

template <class T> bool same(const tensor::Tensor<T>& a, const tensor::Tensor<T>& b)
{
    return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.count(), b.data());
}

}  // namespace

TEST(Synth, VolumesDependOnlyOnSeedIndexAndShape)
{
    SynthParams p;
    p.shape = {6, 48, 40};
    const SynthVolume a = synthesize(p, 3, 0), b = synthesize(p, 3, 0), c = synthesize(p, 3, 1), d = synthesize(p, 4, 0);
    EXPECT_TRUE(same(a.image, b.image) && same(a.labels, b.labels) && same(a.mask, b.mask));
    EXPECT_FALSE(same(a.image, c.image));
    EXPECT_FALSE(same(a.labels, d.labels));
}

TEST(Synth, CellsAreBrightRegionsSeparatedByDarkMembranes)
{
    SynthParams p;
    p.shape = {12, 96, 96};
    const SynthVolume v = synthesize(p, 1, 0);
    double inside = 0, membrane = 0;
    std::int64_t n_inside = 0, n_membrane = 0;
    std::set<std::uint32_t> ids;
    for (std::int64_t i = 0; i < v.labels.count(); ++i) {
        const std::uint32_t l = v.labels.data()[i];
        if (l == 0) {
            membrane += v.image.data()[i];
            ++n_membrane;
        } else {
            inside += v.image.data()[i];
            ++n_inside;
            ids.insert(l);
        }
    }
    const double membrane_fraction = double(n_membrane) / double(v.labels.count());
    EXPECT_GT(membrane_fraction, 0.05);
    EXPECT_LT(membrane_fraction, 0.4);
    EXPECT_GT(inside / double(n_inside) - membrane / double(n_membrane), 60.0);  // of 255
    // IDs are 1..cells, each a cell of many voxels.
    EXPECT_EQ(static_cast<std::int64_t>(ids.size()), v.cells);
    EXPECT_EQ(*ids.rbegin(), static_cast<std::uint32_t>(v.cells));
    EXPECT_GT(v.cells, 10);
    EXPECT_GT(n_inside / v.cells, 200);
    // The unannotated band: x < X/6 in the lower third of the sections.
    EXPECT_EQ(v.mask(0, 0, 50, 0), 0);
    EXPECT_EQ(v.mask(0, 0, 50, 20), 1);
    EXPECT_EQ(v.mask(0, 11, 50, 0), 1);
}

TEST(Synth, TheDatasetLoadsThroughItsSpecFromHdf5AndTiff)
{
    test::TempDir dir;
    SynthParams p;
    p.shape = {4, 40, 36};
    const SynthDataset ds = write_synthetic_dataset(dir.file("synth"), p, 5, false);
    EXPECT_EQ(ds.files.size(), 9u);
    // The test volume is the same in HDF5 and TIFF; the training volume is the seed's volume 0.
    const auto h5 = io::read_volume(io::VolumeUri::parse(dir.file("synth/test.h5:/volumes/labels/neuron_ids"))).to<std::uint32_t>();
    const auto tif = io::read_volume(io::VolumeUri::parse(dir.file("synth/test-labels.tif"))).to<std::uint32_t>();
    EXPECT_TRUE(same(h5, tif));
    const auto raw = io::read_volume(io::VolumeUri::parse(dir.file("synth/train.h5:/volumes/raw"))).to<std::uint8_t>();
    EXPECT_TRUE(same(raw, synthesize(p, 5, 0).image));

    // A job naming the spec: both samples resolve and load.
    {
        std::ofstream cfg(dir.file("job.cfg"));
        cfg << "[parameters]\nfnet_spec = n.znn\nfdata_spec = synth/synth.spec\ntrain_range = 1\ntest_range = 2\n";
    }
    const config::JobFiles job = config::JobFiles::load(dir.file("job.cfg"));
    SampleOptions o;
    o.geometry.inputs["input"] = {1, 9, 9};
    o.geometry.outputs["output"] = {1, 5, 5};
    o.out_type = config::OutType::Affinity;
    for (std::int64_t id : {1, 2}) {
        config::Diagnostics d;
        const auto r = job.samples.resolve(id, {"input"}, {"output"}, true, d);
        ASSERT_TRUE(r) << (d.errors().empty() ? "" : d.errors()[0].message);
        const SampleData s = SampleData::load(*r, o, dist::Comm::serial());
        EXPECT_GT(s.candidates().count(), 0);
        EXPECT_LT(s.candidates().count(), s.deviations().voxels());  // the mask excludes a band
    }
    // Existing files are kept unless overwriting is asked for.
    EXPECT_THROW(write_synthetic_dataset(dir.file("synth"), p, 5, false), core::InputError);
    EXPECT_NO_THROW(write_synthetic_dataset(dir.file("synth"), p, 6, true));
}
