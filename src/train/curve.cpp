#include "znn/train/curve.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "znn/model/network_file.hpp"

namespace znn::train {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kStatistics = "/processing/znn/train/statistics/";

const char* phase_name(CurvePhase p) { return p == CurvePhase::Train ? "train" : "test"; }

void write_column(io::Hdf5File& file, const std::string& path, const std::vector<double>& v)
{
    const double none = 0;
    file.write_array(path, core::DType::Float64, {static_cast<std::int64_t>(v.size())}, v.empty() ? &none : v.data());
}

template <class F> std::vector<double> column(const std::vector<CurvePoint>& points, F&& f)
{
    std::vector<double> v;
    v.reserve(points.size());
    for (const CurvePoint& p : points) v.push_back(f(p));
    return v;
}

std::string number(double v)
{
    if (std::isnan(v)) return "";
    std::ostringstream os;
    os.precision(9);
    os << v;
    return os.str();
}

/// The column `name` of a phase, padded with NaN (or cut) to `n` values; nullopt if absent.
std::optional<std::vector<double>> read_column(const io::Hdf5File& file, const std::string& path)
{
    const auto a = file.read_array(path);
    if (!a) return std::nullopt;
    return a->values;
}

}  // namespace

CurvePoint::CurvePoint()
    : rand_error(kNaN), malis_cost(kNaN), malis_error(kNaN), eta(kNaN), seconds_per_iteration(kNaN), voxels_per_second(kNaN), elapsed(kNaN), majority_error(kNaN)
{
}

void LearningCurve::truncate(std::int64_t iteration)
{
    auto cut = [&](std::vector<CurvePoint>& v) {
        v.erase(std::remove_if(v.begin(), v.end(), [&](const CurvePoint& p) { return p.iteration > iteration; }), v.end());
    };
    cut(train);
    cut(test);
}

std::string LearningCurve::csv_header()
{
    return "phase,iteration,cost,pixel_error,rand_error,malis_cost,malis_error,learning_rate,seconds_per_iteration,voxels_per_second,"
           "elapsed_s,majority_pixel_error\n";
}

std::string LearningCurve::csv_line(CurvePhase phase, const CurvePoint& p)
{
    return std::string(phase_name(phase)) + "," + std::to_string(p.iteration) + "," + number(p.cost) + "," + number(p.pixel_error) + "," +
           number(p.rand_error) + "," + number(p.malis_cost) + "," + number(p.malis_error) + "," + number(p.eta) + "," +
           number(p.seconds_per_iteration) + "," + number(p.voxels_per_second) + "," + number(p.elapsed) + "," + number(p.majority_error) + "\n";
}

std::string LearningCurve::csv() const
{
    std::string text = csv_header();
    std::size_t i = 0, j = 0;
    while (i < train.size() || j < test.size()) {
        if (j == test.size() || (i < train.size() && train[i].iteration <= test[j].iteration)) text += csv_line(CurvePhase::Train, train[i++]);
        else text += csv_line(CurvePhase::Test, test[j++]);
    }
    return text;
}

void LearningCurve::write(io::Hdf5File& file, bool rand, bool malis) const
{
    const std::string extra = std::string(model::kStatePrefix) + "curve/";
    for (const CurvePhase phase : {CurvePhase::Train, CurvePhase::Test}) {
        const std::vector<CurvePoint>& points = phase == CurvePhase::Train ? train : test;
        const std::string base = std::string(kStatistics) + phase_name(phase) + "/";
        write_column(file, base + "it", column(points, [](const CurvePoint& p) { return double(p.iteration); }));
        write_column(file, base + "err", column(points, [](const CurvePoint& p) { return p.cost; }));
        write_column(file, base + "cls", column(points, [](const CurvePoint& p) { return p.pixel_error; }));
        if (rand) write_column(file, base + "re", column(points, [](const CurvePoint& p) { return p.rand_error; }));
        if (malis) {
            write_column(file, base + "mc", column(points, [](const CurvePoint& p) { return p.malis_error; }));
            write_column(file, base + "me", column(points, [](const CurvePoint& p) { return p.malis_cost; }));
        }
        write_column(file, extra + phase_name(phase) + "/elapsed", column(points, [](const CurvePoint& p) { return p.elapsed; }));
    }
    write_column(file, std::string(kStatistics) + "elapsed", column(train, [](const CurvePoint& p) { return p.seconds_per_iteration; }));
    write_column(file, extra + "train/learning_rate", column(train, [](const CurvePoint& p) { return p.eta; }));
    write_column(file, extra + "train/voxels_per_second", column(train, [](const CurvePoint& p) { return p.voxels_per_second; }));
    write_column(file, extra + "test/majority_pixel_error", column(test, [](const CurvePoint& p) { return p.majority_error; }));
}

std::optional<LearningCurve> LearningCurve::read(const io::Hdf5File& file)
{
    if (!file.has_dataset(std::string(kStatistics) + "train/it")) return std::nullopt;
    const std::string extra = std::string(model::kStatePrefix) + "curve/";
    LearningCurve curve;
    for (const CurvePhase phase : {CurvePhase::Train, CurvePhase::Test}) {
        const std::string base = std::string(kStatistics) + phase_name(phase) + "/";
        const auto it = read_column(file, base + "it");
        if (!it) continue;
        std::vector<CurvePoint>& points = phase == CurvePhase::Train ? curve.train : curve.test;
        points.resize(it->size());
        auto fill = [&](const std::optional<std::vector<double>>& col, double CurvePoint::*field) {
            if (!col) return;
            for (std::size_t k = 0; k < points.size() && k < col->size(); ++k) points[k].*field = (*col)[k];
        };
        for (std::size_t k = 0; k < points.size(); ++k) points[k].iteration = static_cast<std::int64_t>((*it)[k]);
        fill(read_column(file, base + "err"), &CurvePoint::cost);
        fill(read_column(file, base + "cls"), &CurvePoint::pixel_error);
        fill(read_column(file, base + "re"), &CurvePoint::rand_error);
        fill(read_column(file, base + "mc"), &CurvePoint::malis_error);
        fill(read_column(file, base + "me"), &CurvePoint::malis_cost);
        fill(read_column(file, extra + phase_name(phase) + "/elapsed"), &CurvePoint::elapsed);
        if (phase == CurvePhase::Test) fill(read_column(file, extra + "test/majority_pixel_error"), &CurvePoint::majority_error);
        if (phase == CurvePhase::Train) {
            fill(read_column(file, std::string(kStatistics) + "elapsed"), &CurvePoint::seconds_per_iteration);
            fill(read_column(file, extra + "train/learning_rate"), &CurvePoint::eta);
            fill(read_column(file, extra + "train/voxels_per_second"), &CurvePoint::voxels_per_second);
        }
    }
    return curve;
}

}  // namespace znn::train
