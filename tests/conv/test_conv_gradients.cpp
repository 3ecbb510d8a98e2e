// Finite-difference checks, in double precision, of the naive convolution's two gradients: they must
// be the exact adjoints of the forward pass. The optimised engines are held to the naive engine in
// test_conv.cpp, so together these check every engine's gradients.

#include <gtest/gtest.h>

#include <cmath>

#include "znn/conv/naive.hpp"
#include "znn/core/rng.hpp"

using namespace znn;
using namespace znn::conv;
using tensor::Tensor;

namespace {

/// L = ½ Σ (out ⊙ r)², a smooth loss whose gradient w.r.t. out is out ⊙ r².
double loss(const ConvProblem& p, const Tensor<double>& in, const Tensor<double>& w, const Tensor<double>& r)
{
    Tensor<double> out(p.batch * p.out_channels, p.out_size());
    naive::forward<double>(p, in.view(), w.view(), out.view(), Accumulate::Overwrite);
    double l = 0;
    for (std::size_t i = 0; i < out.span().size(); ++i) l += 0.5 * std::pow(out.span()[i] * r.span()[i], 2);
    return l;
}

void check_gradients(const ConvProblem& p, std::uint64_t seed)
{
    SCOPED_TRACE(p.to_string());
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Test);
    auto random = [&](tensor::Shape4 s) {
        Tensor<double> t(s);
        for (double& v : t.span()) v = rng.uniform(-1.0, 1.0);
        return t;
    };
    Tensor<double> in = random({p.batch * p.in_channels, p.in_size});
    Tensor<double> w = random({p.out_channels * p.in_channels, p.kernel});
    const Tensor<double> r = random({p.batch * p.out_channels, p.out_size()});

    Tensor<double> out(p.batch * p.out_channels, p.out_size());
    naive::forward<double>(p, in.view(), w.view(), out.view(), Accumulate::Overwrite);
    Tensor<double> gout(out.shape());
    for (std::size_t i = 0; i < out.span().size(); ++i) gout.span()[i] = out.span()[i] * r.span()[i] * r.span()[i];
    Tensor<double> gin(in.shape()), gw(w.shape());
    naive::backward_data<double>(p, gout.view(), w.view(), gin.view(), Accumulate::Overwrite);
    naive::backward_weights<double>(p, in.view(), gout.view(), gw.view(), Accumulate::Overwrite);

    const double h = 1e-5;
    auto check = [&](Tensor<double>& x, const Tensor<double>& analytic, const char* what) {
        const auto n = static_cast<std::int64_t>(x.span().size());
        for (int trial = 0; trial < 40; ++trial) {
            const auto idx = static_cast<std::size_t>(rng.uniform_int(0, n - 1));
            const double saved = x.span()[idx];
            x.span()[idx] = saved + h;
            const double up = loss(p, in, w, r);
            x.span()[idx] = saved - h;
            const double down = loss(p, in, w, r);
            x.span()[idx] = saved;
            const double numeric = (up - down) / (2 * h);
            EXPECT_NEAR(analytic.span()[idx], numeric, 1e-7 * std::max(1.0, std::abs(numeric))) << what << " at " << idx;
        }
    };
    check(in, gin, "d loss / d input");
    check(w, gw, "d loss / d kernel");
}

}  // namespace

TEST(ConvGradients, FiniteDifferencesInDoublePrecision)
{
    check_gradients({1, 2, 3, {5, 6, 7}, {2, 3, 2}, {1, 1, 1}}, 1);
    check_gradients({2, 3, 2, {1, 9, 11}, {1, 3, 4}, {1, 2, 1}}, 2);  // 2D, dilated, batch
    check_gradients({1, 2, 2, {7, 8, 9}, {2, 2, 2}, {3, 2, 2}}, 3);   // dilated in 3D
    check_gradients({1, 4, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, 4);   // 1×1×1
}
