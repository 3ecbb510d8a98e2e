#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/job_config.hpp"
#include "znn/config/job_files.hpp"
#include "znn/config/path_base.hpp"
#include "znn/config/sample_spec.hpp"
#include "znn/config/values.hpp"
#include "znn/core/error.hpp"

using namespace znn;
using namespace znn::config;

namespace {

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text)
{
    std::ofstream(dir.file(name)) << text;
    return dir.file(name);
}

std::string load_error(const std::string& path, const std::vector<std::string>& overrides = {})
{
    try {
        JobConfig::load(path, overrides);
    } catch (const core::InputError& e) {
        EXPECT_EQ(e.exit_code(), 2);
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Ini, ReadsSectionsContinuationsAndComments)
{
    Diagnostics d;
    IniFile ini;
    ini.parse("# comment\n[Parameters]\nKey = value one\nother: two\n; also a comment\n[image1]\nfnames = a.tif,\n"
              "   b.tif\n\n  c.tif\n[image1]\npp_types = none\n",
              "job.cfg", d);
    EXPECT_FALSE(d.has_errors());
    const IniSection* p = ini.find("Parameters");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->find("key")->value, "value one");
    EXPECT_EQ(p->find("other")->value, "two");
    EXPECT_EQ(p->find("other")->where(), "job.cfg:4");
    const IniSection* image = ini.find("image1");
    ASSERT_TRUE(image);
    EXPECT_EQ(image->find("fnames")->value, "a.tif,\nb.tif\nc.tif");  // continuations, as ConfigParser joined them
    EXPECT_EQ(image->find("pp_types")->value, "none");                // sections of one name merge
}

TEST(Ini, ReportsEveryMalformedLine)
{
    Diagnostics d;
    IniFile ini;
    ini.parse("orphan = 1\n[ok]\njust words\n[broken\n= no key\n", "bad.cfg", d);
    ASSERT_EQ(d.errors().size(), 4u);
    EXPECT_EQ(d.errors()[0].where, "bad.cfg:1");
    EXPECT_EQ(d.errors()[0].message, "'orphan' is outside any [section]");
    EXPECT_EQ(d.errors()[1].where, "bad.cfg:3");
    EXPECT_EQ(d.errors()[2].message, "malformed section header '[broken' (expected [name])");
    EXPECT_EQ(d.errors()[3].where, "bad.cfg:5");
}

TEST(Values, RangesBoolsVectorsAndPaths)
{
    EXPECT_EQ(parse_id_ranges("2-3,7"), (std::set<std::int64_t>{2, 3, 7}));
    EXPECT_EQ(parse_id_ranges(" 1, 4-6 ,8"), (std::set<std::int64_t>{1, 4, 5, 6, 8}));
    std::string error;
    EXPECT_FALSE(parse_id_ranges("1,x", &error));
    EXPECT_EQ(error, "'x' is not a sample id");
    EXPECT_FALSE(parse_id_ranges("5-2", &error));
    EXPECT_EQ(to_string(std::set<std::int64_t>{1, 2, 3, 5, 7, 8}), "1-3,5,7-8");
    EXPECT_EQ(parse_bool("Yes"), true);
    EXPECT_EQ(parse_bool("off"), false);
    EXPECT_FALSE(parse_bool("maybe"));
    EXPECT_EQ(parse_vec3("1, 100, 100"), (core::Vec3i{1, 100, 100}));
    EXPECT_EQ(resolve_path("data/a.h5:/raw", "/jobs/n4"), "/jobs/n4/data/a.h5:/raw");
    EXPECT_EQ(resolve_path("../x.tif", "/jobs/n4"), "/jobs/x.tif");
    EXPECT_EQ(resolve_path("/abs.tif", "/jobs"), "/abs.tif");
    EXPECT_EQ(closest_match("Num_iter_per_sav", JobConfig::keys()), "num_iter_per_save");
    EXPECT_EQ(closest_match("zzzzzzzzzz", JobConfig::keys()), "");
}

TEST(JobConfig, DefaultsAliasesAndPathsRelativeToTheFile)
{
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("jobs"));
    const std::string cfg = write(dir, "jobs/train.cfg",
                                  "[parameters]\n"
                                  "fnet_spec = ../nets/N4.znn\n"
                                  "fdata_spec = data.spec\n"
                                  "num_threads = 0\n"
                                  "dtype = float32\n"
                                  "out_type = affinity\n"
                                  "train_net = ../experiments/N4/net.h5\n"  // legacy name, .h5 stripped
                                  "train_range = 2-3,7\n"
                                  "test_range = 1\n"
                                  "train_outsz = 1,5,5\n"
                                  "is_train_optimize = no\n"
                                  "is_patch_rebalance = yes\n"  // the original dropped this; znn honours it
                                  "is_data_aug = yes\n"
                                  "Num_iter_per_show = 10\n"
                                  "MAX_ITER = 2000\n"
                                  "forward_grid = 1,1,1\n");
    const JobConfig c = JobConfig::load(cfg);
    EXPECT_EQ(c.net_spec, dir.file("nets/N4.znn"));
    EXPECT_EQ(c.data_spec, dir.file("jobs/data.spec"));
    EXPECT_EQ(c.train_net_prefix, dir.file("experiments/N4/net"));
    EXPECT_EQ(c.out_type, OutType::Affinity);
    EXPECT_EQ(c.train_range, (std::set<std::int64_t>{2, 3, 7}));
    EXPECT_EQ(c.train_outsz, (core::Vec3i{1, 5, 5}));
    EXPECT_EQ(c.train_conv_mode, ConvMode::Direct);
    EXPECT_EQ(c.forward_conv_mode, ConvMode::Optimize);  // default
    EXPECT_EQ(c.rebalance_mode, Rebalance::Patch);
    EXPECT_TRUE(c.augment.flips && c.augment.transpose && !c.augment.rot90);
    EXPECT_EQ(c.num_iter_per_show, 10);
    EXPECT_EQ(c.max_iter, 2000);
    EXPECT_EQ(c.eta, 0.01);       // default
    EXPECT_EQ(c.cost_fn, CostFn::Auto);
}

/// Runs the test body in another working directory, and returns to the previous one.
class InDirectory {
public:
    explicit InDirectory(const std::string& dir) : previous_(std::filesystem::current_path()) { std::filesystem::current_path(dir); }
    ~InDirectory() { std::filesystem::current_path(previous_); }

private:
    std::filesystem::path previous_;
};

/// The original's layout: the job files in testsuit/boundary and dataset/P, their paths relative to python/.
void make_original_layout(const test::TempDir& dir)
{
    for (const char* d : {"networks", "dataset/P", "testsuit/boundary", "python"}) std::filesystem::create_directories(dir.file(d));
    write(dir, "networks/N4.znn", "nodes input\ntype input\nsize 1\n");
    write(dir, "dataset/P/stack1-image.tif", "");
    write(dir, "dataset/P/data.spec", "[image1]\nfnames = ../dataset/P/stack1-image.tif\n[label1]\nfnames = ../dataset/P/stack1-label.tif\n");
    write(dir, "testsuit/boundary/config.cfg",
          "[parameters]\nfnet_spec = ../networks/N4.znn\nfdata_spec = ../dataset/P/data.spec\ntrain_save_net = ../testsuit/boundary/net.h5\n"
          "output_prefix = ../testsuit/boundary/out\n");
}

TEST(PathBase, FilesWhoseInputsAreFoundOnlyFromTheWorkingDirectoryAreReadTheOriginalsWay)
{
    test::TempDir dir;
    make_original_layout(dir);
    const std::string root = std::filesystem::canonical(dir.path()).string();
    const InDirectory in(root + "/python");
    Diagnostics d;
    const JobFiles job = JobFiles::read("../testsuit/boundary/config.cfg", {}, d);
    EXPECT_FALSE(d.has_errors()) << (d.errors().empty() ? "" : d.errors()[0].message);
    EXPECT_EQ(job.config.net_spec, root + "/networks/N4.znn");
    EXPECT_EQ(job.config.data_spec, root + "/dataset/P/data.spec");
    // Outputs follow their file's choice, never a mix: where the original wrote them.
    EXPECT_EQ(job.config.train_net_prefix, root + "/testsuit/boundary/net");
    EXPECT_EQ(job.config.output_prefix, root + "/testsuit/boundary/out");
    // The spec's label does not exist anywhere: the spec still goes the original's way (its image is found so).
    ASSERT_EQ(job.samples.images.count(1), 1u);
    EXPECT_EQ(job.samples.images.at(1).files, std::vector<std::string>{root + "/dataset/P/stack1-image.tif"});
    EXPECT_EQ(job.samples.labels.at(1).file, root + "/dataset/P/stack1-label.tif");
    // Each file is said once, with the input that decided it.
    ASSERT_EQ(job.warnings.size(), 2u);
    EXPECT_NE(job.warnings[0].message.find("relative to the working directory " + root + "/python"), std::string::npos) << job.warnings[0].message;
    EXPECT_NE(job.warnings[0].message.find("\"fnet_spec = ../networks/N4.znn\""), std::string::npos) << job.warnings[0].message;
    EXPECT_NE(job.warnings[1].where.find("data.spec"), std::string::npos);
}

TEST(PathBase, AFilesOwnDirectoryWinsWhenItsInputsAreFoundThere)
{
    test::TempDir dir;
    make_original_layout(dir);
    const std::string root = std::filesystem::canonical(dir.path()).string();
    // The same relative names also exist beside the .cfg: znn's own convention is kept.
    std::filesystem::create_directories(dir.file("testsuit/networks"));
    write(dir, "testsuit/networks/N4.znn", "nodes input\ntype input\nsize 1\n");
    std::filesystem::create_directories(dir.file("testsuit/dataset/P"));
    write(dir, "testsuit/dataset/P/data.spec", "");
    const InDirectory in(root + "/python");
    IniFile ini;
    Diagnostics d;
    ini.read("../testsuit/boundary/config.cfg", d);
    const PathBase b = choose_path_base(ini, "../testsuit/boundary/config.cfg");
    EXPECT_FALSE(b.working_directory);
    EXPECT_EQ(b.directory, root + "/testsuit/boundary");
    EXPECT_EQ(JobConfig::load("../testsuit/boundary/config.cfg").net_spec, root + "/testsuit/networks/N4.znn");
}

TEST(PathBase, MissingInputsLeaveTheFilesOwnDirectoryUnlessTheirDirectoriesAreFoundFromTheWorkingDirectory)
{
    test::TempDir dir;
    const std::string root = std::filesystem::canonical(dir.path()).string();
    std::filesystem::create_directories(dir.file("jobs/a"));
    std::filesystem::create_directories(dir.file("here/nets"));
    write(dir, "jobs/a/nothing.cfg", "[parameters]\nfnet_spec = gone/n.znn\n");
    write(dir, "jobs/a/dirs.cfg", "[parameters]\nfnet_spec = nets/n.znn\n");  // here/nets exists, jobs/a/nets does not
    write(dir, "jobs/a/absolute.cfg", "[parameters]\nfnet_spec = /nowhere/n.znn\ntrain_net_prefix = out/net\n");
    const InDirectory in(root + "/here");
    for (const char* f : {"nothing", "absolute"}) {
        IniFile ini;
        Diagnostics d;
        const std::string file = root + "/jobs/a/" + f + ".cfg";
        ini.read(file, d);
        EXPECT_FALSE(choose_path_base(ini, file).working_directory) << f;
    }
    IniFile ini;
    Diagnostics d;
    ini.read(root + "/jobs/a/dirs.cfg", d);
    EXPECT_TRUE(choose_path_base(ini, root + "/jobs/a/dirs.cfg").working_directory);
}

TEST(JobConfig, TheOriginalsSeedAndLoadKeysAreReadAsPaths)
{
    // The original's own test-suite files carry `train_seed_net =` (empty) and train_load_net.
    test::TempDir dir;
    const std::string cfg = write(dir, "b.cfg", "[parameters]\nfnet_spec = n.znn\ntrain_seed_net =\ntrain_load_net = out/net_current.h5\n");
    const JobConfig c = JobConfig::load(cfg);
    EXPECT_EQ(c.train_seed_net, "");
    EXPECT_EQ(c.train_load_net, dir.file("out/net_current.h5"));
    const JobConfig d = JobConfig::load(cfg, {"train_seed_net=/abs/seed.h5"});
    EXPECT_EQ(d.train_seed_net, "/abs/seed.h5");
}

TEST(JobConfig, CanonicalKeysAndOverridesWin)
{
    test::TempDir dir;
    const std::string cfg = write(dir, "a.cfg",
                                  "[parameters]\nfnet_spec = n.znn\nforce_fft = yes\ntrain_conv_mode = optimize\n"
                                  "is_rebalance = yes\neta = 0.1\n");
    const JobConfig c = JobConfig::load(cfg, {"eta=0.5", "Momentum=0.9", "fnet_spec=other.znn"});
    EXPECT_EQ(c.train_conv_mode, ConvMode::Optimize);  // its own name beats force_fft
    EXPECT_EQ(c.forward_conv_mode, ConvMode::Fft);     // force_fft still sets the forward mode
    EXPECT_EQ(c.rebalance_mode, Rebalance::Global);
    EXPECT_EQ(c.eta, 0.5);
    EXPECT_EQ(c.momentum, 0.9);
    EXPECT_EQ(c.net_spec, (std::filesystem::current_path() / "other.znn").string());  // relative to the working directory

    // The resolved text reads back to the same configuration.
    const std::string again = write(dir, "resolved.cfg", c.resolved_text());
    const JobConfig d = JobConfig::load(again);
    EXPECT_EQ(d.resolved_text(), c.resolved_text());
}

// The README's promises about warnings: float64 is accepted with one, a legacy key that loses to its
// canonical name says so, and a side-branch key is accepted and ignored with one.
TEST(JobConfig, Float64AndLegacyKeysWarn)
{
    IniFile ini;
    Diagnostics d;
    ini.parse("[parameters]\nfnet_spec = n.znn\ndtype = float64\nforce_fft = yes\ntrain_conv_mode = direct\n"
              "is_rebalance = yes\nrebalance_mode = none\n",
              "/w/job.cfg", d);
    const JobConfig c = JobConfig::from_ini(ini, "/w/job.cfg", {}, d);
    EXPECT_FALSE(d.has_errors());
    EXPECT_EQ(c.rebalance_mode, Rebalance::None);  // the canonical key wins
    EXPECT_EQ(c.train_conv_mode, ConvMode::Direct);
    std::vector<std::string> warnings;
    for (const auto& w : d.warnings()) warnings.push_back(w.where + ": " + w.message);
    const std::vector<std::string> expected = {
        "/w/job.cfg:4: ignored: 'train_conv_mode' is also set under its own name, which wins",
        "/w/job.cfg:6: ignored: 'rebalance_mode' is also set under its own name, which wins",
        "/w/job.cfg: dtype float64: znn computes in float32",
    };
    std::string all;
    for (const auto& w : warnings) all += "\n" + w;
    for (const auto& e : expected) EXPECT_NE(std::find(warnings.begin(), warnings.end(), e), warnings.end()) << e << all;
    EXPECT_EQ(warnings.size(), expected.size()) << all;
}

TEST(JobConfig, EveryProblemIsReportedWithFileAndLine)
{
    test::TempDir dir;
    const std::string cfg = write(dir, "bad.cfg",
                                  "[parameters]\n"
                                  "lerning_rate = 0.1\n"          // 2: unknown key, no close match
                                  "Num_iter_per_sav = 100\n"      // 3: typo
                                  "momentum = 2\n"                // 4: out of range
                                  "train_outsz = 1,5\n"           // 5: malformed vector
                                  "out_type = boundry\n"          // 6: unknown value
                                  "train_range = 1,b\n"           // 7: bad range
                                  "is_bd_mirror = sure\n"         // 8: not a boolean
                                  "Max_iter = 10\n"
                                  "[weird]\nx = 1\n");            // 10: unknown section
    const std::string e = load_error(cfg);
    EXPECT_NE(e.find("10 problems:"), std::string::npos) << e;
    for (const std::string& part :
         {cfg + ":2: unknown key 'lerning_rate'", cfg + ":3: unknown key 'num_iter_per_sav' (did you mean 'Num_iter_per_save'?)",
          cfg + ":4: momentum: must be in [0, 1], got 2", cfg + ":5: train_outsz: expected z,y,x (three integers), got '1,5'",
          cfg + ":6: out_type: unknown value 'boundry' (one of: boundary, affinity, semantic)",
          cfg + ":7: train_range: 'b' is not a sample id", cfg + ":8: is_bd_mirror: expected yes or no, got 'sure'",
          cfg + ":10: unknown section [weird]", cfg + ": missing required key 'fnet_spec'",
          cfg + ": Max_iter (10) must be larger than Num_iter_per_save (1000)"})
        EXPECT_NE(e.find(part), std::string::npos) << "missing: " << part << "\nin: " << e;
    EXPECT_EQ(load_error(dir.file("nope.cfg")), dir.file("nope.cfg") + ": cannot read the file (no such file, or no permission)");
    const std::string ok = write(dir, "ok.cfg", "[parameters]\nfnet_spec = n.znn\n");
    EXPECT_EQ(load_error(ok, {"eta"}), "--set eta: expected key=value");
    EXPECT_EQ(load_error(ok, {"etta=1"}), "--set etta: unknown key 'etta' (did you mean 'eta'?)");
    EXPECT_EQ(load_error(ok, {"eta=-1"}), "--set eta: eta: must be in [0, 1e+06], got -1");
}

TEST(JobConfig, TheReferenceFileIsCurrent)
{
    // configs/reference.cfg documents every option; it must be what the option table generates.
    std::ifstream in(std::string(ZNN_SOURCE_DIR) + "/configs/reference.cfg");
    ASSERT_TRUE(in) << "configs/reference.cfg is missing";
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), JobConfig::reference_text()) << "regenerate it: build/src/znn check --reference > configs/reference.cfg";
    // And it parses (with the required network added).
    test::TempDir dir;
    const std::string cfg = write(dir, "ref.cfg", JobConfig::reference_text());
    EXPECT_NO_THROW(JobConfig::load(cfg, {"fnet_spec=n.znn"}));
}

TEST(SampleSpec, ReadsSectionsFromSpecAndConfig)
{
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("data"));
    const std::string spec = write(dir, "data/train.spec",
                                   "[image1]\nfnames = raw.tif,\n         raw2.h5:/volumes/raw\npp_types = standard2D, none\n"
                                   "is_auto_crop = yes\n"
                                   "[label1]\nfnames = sample_A.h5:/volumes/labels/neuron_ids\npp_types = auto\nfmasks = mask.tif\n"
                                   "[sample1]\ninput = 1\noutput = 1\n"
                                   "[image2]\nfnames = /abs/test.tif\npp_types = symmetric_rescale\n"
                                   "[sample2]\ninput = 2\n");
    Diagnostics d;
    IniFile ini;
    ini.read(spec, d);
    ini.parse("[parameters]\nfnet_spec = n.znn\n[image3]\nfnames = local.tif\n[sample3]\ninput = 3\n", dir.file("job.cfg"), d);
    const SampleSpec s = SampleSpec::from_ini(ini, d);
    EXPECT_FALSE(d.has_errors()) << d.errors()[0].message;
    ASSERT_EQ(s.images.size(), 3u);
    EXPECT_EQ(s.images.at(1).files, (std::vector<std::string>{dir.file("data/raw.tif"), dir.file("data/raw2.h5:/volumes/raw")}));
    EXPECT_EQ(s.images.at(1).preprocess, (std::vector<Preprocess>{Preprocess::Standard2D, Preprocess::None}));
    EXPECT_EQ(s.images.at(2).preprocess, (std::vector<Preprocess>{Preprocess::SymmetricRescale}));
    EXPECT_EQ(s.images.at(3).files, (std::vector<std::string>{dir.file("local.tif")}));  // relative to the .cfg
    EXPECT_EQ(s.labels.at(1).file, dir.file("data/sample_A.h5:/volumes/labels/neuron_ids"));
    EXPECT_EQ(s.labels.at(1).mask, dir.file("data/mask.tif"));

    const auto r = s.resolve(1, {"input"}, {"output"}, true, d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->inputs.at("input")->id, 1);
    EXPECT_EQ(r->outputs.at("output")->id, 1);
    EXPECT_TRUE(s.resolve(2, {"input"}, {"output"}, false, d));  // inference needs no label
    EXPECT_FALSE(d.has_errors());
    EXPECT_FALSE(s.resolve(2, {"input"}, {"output"}, true, d));  // training does
    EXPECT_FALSE(s.resolve(1, {"imput"}, {"output"}, true, d));
    EXPECT_FALSE(s.resolve(9, {"input"}, {"output"}, true, d));
    ASSERT_GE(d.errors().size(), 3u);
    EXPECT_NE(d.errors()[0].message.find("gives no label for output node 'output'"), std::string::npos);
    EXPECT_NE(d.errors()[1].message.find("no input or output node 'input' (did you mean 'imput'?)"), std::string::npos);
}

TEST(SampleSpec, EveryProblemIsReported)
{
    Diagnostics d;
    IniFile ini;
    ini.parse("[image1]\npp_types = standard4D\nfnames = a.tif\nfnamez = b.tif\n"
              "[label1]\nfnames = a.h5, b.h5\npp_types = fancy\nis_auto_crop = perhaps\n"
              "[sample1]\ninput = 1\noutput = 5\nother = x\n[sample2]\n",
              "d.spec", d);
    SampleSpec::from_ini(ini, d);
    std::vector<std::string> got;
    for (const auto& e : d.errors()) got.push_back(e.where + ": " + e.message);
    const std::vector<std::string> expected = {
        "d.spec:4: unknown key 'fnamez' in [image1] (did you mean 'fnames'?)",
        "d.spec:2: unknown preprocessing 'standard4D' (standard2D, standard3D, symetric_rescale, none)",
        "d.spec:8: is_auto_crop: expected yes or no, got 'perhaps'",
        "d.spec:6: [label1] lists 2 label files; a label section has one volume",
        "d.spec:7: unknown label type 'fancy' (auto, binary_class, affinity, one_class, semantic, none)",
        "d.spec:12: 'other' must be the number N of an [imageN] or [labelN], got 'x'",
        "d.spec:13: [sample2] binds no network node",
        "d.spec:11: 'output = 5': there is no [image5] or [label5]",
    };
    EXPECT_EQ(got, expected);
}

TEST(JobFiles, ReadsTheSpecItNamesAndKnowsWhereEachOptionCameFrom)
{
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("jobs"));
    write(dir, "jobs/data.spec", "[image1]\nfnames = raw.tif\n[sample1]\ninput = 1\n");
    const std::string cfg = write(dir, "jobs/train.cfg", "[parameters]\nfnet_spec = n.znn\n\nfdata_spec = data.spec\neta = 0.1\n");
    const JobFiles job = JobFiles::load(cfg, {"momentum=0.9"});
    EXPECT_EQ(job.samples.images.at(1).files, (std::vector<std::string>{dir.file("jobs/raw.tif")}));
    EXPECT_EQ(job.config.where("eta"), cfg + ":5");
    EXPECT_EQ(job.config.where("momentum"), "--set momentum");
    EXPECT_EQ(job.config.where("weight_decay"), cfg);  // a default
    // Relative job paths become absolute, against the directory of the file naming them.
    const std::string here = write(dir, "t.cfg", "[parameters]\nfnet_spec = n.znn\n");
    const std::filesystem::path cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    const std::string net = JobConfig::load("t.cfg").net_spec;
    std::filesystem::current_path(cwd);
    EXPECT_EQ(net, std::filesystem::canonical(dir.path()).string() + "/n.znn");
    (void)here;
}
