#include "znn/fft/lane_fft.hpp"

#include <algorithm>
#include <cmath>

#include "znn/core/error.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::fft::ZNN_SIMD_NS {

namespace {

using W = Wide;
using V = W::V;
constexpr int kLanes = W::kLanes;

/// One complex value per lane. Aligned explicitly: GCC gives a vector type the alignment of the target
/// in effect where it is used, and std::vector's allocator (instantiated outside the per-path region)
/// would see 32 bytes for an AVX-512 vector.
struct alignas(sizeof(V)) CV {
    V re, im;
};

inline CV cadd(CV a, CV b) { return {W::add(a.re, b.re), W::add(a.im, b.im)}; }
inline CV csub(CV a, CV b) { return {W::sub(a.re, b.re), W::sub(a.im, b.im)}; }
/// a · (c + i·s) for one scalar complex factor.
inline CV cmul(CV a, float c, float s)
{
    const V vc = W::set1(c), vs = W::set1(s);
    return {W::fnmadd(a.im, vs, W::mul(a.re, vc)), W::fmadd(a.im, vc, W::mul(a.re, vs))};
}
/// ±i·a: +i·(x + iy) = −y + ix.
template <int SIGN>
inline CV times_i(CV a)
{
    if constexpr (SIGN > 0)
        return {W::sub(W::zero(), a.im), a.re};
    else
        return {a.im, W::sub(W::zero(), a.re)};
}

std::vector<int> factorize(std::int64_t n)
{
    std::vector<int> f;
    while (n % 4 == 0) {
        f.push_back(4);
        n /= 4;
    }
    while (n % 2 == 0) {
        f.push_back(2);
        n /= 2;
    }
    for (std::int64_t p = 3; n > 1; p += 2)
        while (n % p == 0) {
            f.push_back(static_cast<int>(p));
            n /= p;
        }
    return f;
}

// ---- one radix stage (Stockham): x holds L-point transforms of n/L residues, y gets L·p-point ones ----

template <int SIGN>
void radix2(const LinePlan::Stage& st, const CV* x, CV* y)
{
    const std::int64_t L = st.done, R = st.rows;
    for (std::int64_t f = 0; f < L; ++f) {
        const float* tw = st.twiddles.data() + f * 2;
        const CV* in = x + f * 2 * R;
        for (std::int64_t r = 0; r < R; ++r) {
            const CV a0 = in[r];
            const CV a1 = f ? cmul(in[R + r], tw[0], tw[1]) : in[R + r];
            y[f * R + r] = cadd(a0, a1);
            y[(f + L) * R + r] = csub(a0, a1);
        }
    }
}

template <int SIGN>
void radix4(const LinePlan::Stage& st, const CV* x, CV* y)
{
    const std::int64_t L = st.done, R = st.rows;
    for (std::int64_t f = 0; f < L; ++f) {
        const float* tw = st.twiddles.data() + f * 6;
        const CV* in = x + f * 4 * R;
        for (std::int64_t r = 0; r < R; ++r) {
            CV a0 = in[r], a1 = in[R + r], a2 = in[2 * R + r], a3 = in[3 * R + r];
            if (f) {
                a1 = cmul(a1, tw[0], tw[1]);
                a2 = cmul(a2, tw[2], tw[3]);
                a3 = cmul(a3, tw[4], tw[5]);
            }
            const CV t0 = cadd(a0, a2), t1 = csub(a0, a2), t2 = cadd(a1, a3);
            const CV t3 = times_i<SIGN>(csub(a1, a3));
            y[f * R + r] = cadd(t0, t2);
            y[(f + L) * R + r] = cadd(t1, t3);
            y[(f + 2 * L) * R + r] = csub(t0, t2);
            y[(f + 3 * L) * R + r] = csub(t1, t3);
        }
    }
}

/// Odd radix P (or any odd radix when P == 0, from st.radix), pairing inputs q and p − q:
/// b_s = a_0 + Σ_q (a_q + a_{p−q})·cos θ_sq + i·(a_q − a_{p−q})·sin θ_sq, b_{p−s} the same with −i.
/// With P known the arrays are registers and every loop unrolls.
template <int P>
void radix_odd(const LinePlan::Stage& st, const float* roots, const CV* x, CV* y)
{
    const int p = P ? P : st.radix;
    const int h = (p - 1) / 2;
    const std::int64_t L = st.done, R = st.rows;
    std::vector<CV> heap(P ? 0 : static_cast<std::size_t>(p));
    CV fixed[P ? P : 1];
    CV* a = P ? fixed : heap.data();
    V c[P ? (P - 1) / 2 : 1][P ? (P - 1) / 2 : 1], sn[P ? (P - 1) / 2 : 1][P ? (P - 1) / 2 : 1];
    if constexpr (P > 0)
        for (int s = 1; s <= h; ++s)
            for (int q = 1; q <= h; ++q) {
                const int j = (s * q) % P;
                c[s - 1][q - 1] = W::set1(roots[2 * j]);
                sn[s - 1][q - 1] = W::set1(roots[2 * j + 1]);
            }
    for (std::int64_t f = 0; f < L; ++f) {
        const float* tw = st.twiddles.data() + f * 2 * (p - 1);
        const CV* in = x + f * p * R;
        for (std::int64_t r = 0; r < R; ++r) {
            a[0] = in[r];
            for (int q = 1; q < p; ++q) a[q] = f ? cmul(in[q * R + r], tw[2 * (q - 1)], tw[2 * (q - 1) + 1]) : in[q * R + r];
            CV sum = a[0];
            // s_q = a_q + a_{p−q} in a[q], d_q = a_q − a_{p−q} in a[p − q]
            for (int q = 1; q <= h; ++q) {
                const CV s = cadd(a[q], a[p - q]), d = csub(a[q], a[p - q]);
                a[q] = s;
                a[p - q] = d;
                sum = cadd(sum, s);
            }
            y[f * R + r] = sum;
            for (int s = 1; s <= h; ++s) {
                V rr = a[0].re, ri = a[0].im, ir = W::zero(), ii = W::zero();
                for (int q = 1; q <= h; ++q) {
                    V cv, sv;
                    if constexpr (P > 0) {
                        cv = c[s - 1][q - 1];
                        sv = sn[s - 1][q - 1];
                    } else {
                        const int j = static_cast<int>((static_cast<std::int64_t>(s) * q) % p);
                        cv = W::set1(roots[2 * j]);
                        sv = W::set1(roots[2 * j + 1]);
                    }
                    rr = W::fmadd(a[q].re, cv, rr);
                    ri = W::fmadd(a[q].im, cv, ri);
                    ir = W::fmadd(a[p - q].re, sv, ir);
                    ii = W::fmadd(a[p - q].im, sv, ii);
                }
                // b_s = R + i·I, b_{p−s} = R − i·I
                y[(f + L * s) * R + r] = {W::sub(rr, ii), W::add(ri, ir)};
                y[(f + L * (p - s)) * R + r] = {W::add(rr, ii), W::sub(ri, ir)};
            }
        }
    }
}

/// Runs a line transform from a (n values) using b as the other buffer; returns where the result is.
CV* run_line(const LinePlan& plan, CV* a, CV* b)
{
    std::size_t root_offset = 0;
    for (const LinePlan::Stage& st : plan.stages) {
        const float* roots = plan.roots.data() + root_offset;
        switch (st.radix) {
        case 2: plan.sign < 0 ? radix2<-1>(st, a, b) : radix2<1>(st, a, b); break;
        case 4: plan.sign < 0 ? radix4<-1>(st, a, b) : radix4<1>(st, a, b); break;
        case 3: radix_odd<3>(st, roots, a, b); break;
        case 5: radix_odd<5>(st, roots, a, b); break;
        case 7: radix_odd<7>(st, roots, a, b); break;
        default: radix_odd<0>(st, roots, a, b); break;
        }
        if (st.radix % 2 == 1) root_offset += 2 * static_cast<std::size_t>(st.radix);
        std::swap(a, b);
    }
    return a;
}

inline CV* as_cv(float* p) { return reinterpret_cast<CV*>(p); }

}  // namespace

LinePlan::LinePlan(std::int64_t length, int direction) : n(length), sign(direction)
{
    ZNN_CHECK(length >= 1, "lane FFT: transform length must be positive");
    std::int64_t done = 1;
    for (int radix : factorize(length)) {
        Stage st;
        st.radix = radix;
        st.done = done;
        st.rows = length / (done * radix);
        st.twiddles.resize(static_cast<std::size_t>(2 * done * (radix - 1)));
        for (std::int64_t f = 0; f < done; ++f)
            for (int q = 1; q < radix; ++q) {
                const double angle = sign * 2.0 * M_PI * static_cast<double>(f * q) / static_cast<double>(done * radix);
                st.twiddles[static_cast<std::size_t>(2 * (f * (radix - 1) + q - 1))] = static_cast<float>(std::cos(angle));
                st.twiddles[static_cast<std::size_t>(2 * (f * (radix - 1) + q - 1) + 1)] = static_cast<float>(std::sin(angle));
            }
        if (radix % 2 == 1)
            for (int j = 0; j < radix; ++j) {
                const double angle = sign * 2.0 * M_PI * j / radix;
                roots.push_back(static_cast<float>(std::cos(angle)));
                roots.push_back(static_cast<float>(std::sin(angle)));
            }
        stages.push_back(std::move(st));
        done *= radix;
    }
}

LaneFft::LaneFft(const core::Vec3i& n) : n_(n), nxc_(n.x / 2 + 1), freqs_(n.z * n.y * (n.x / 2 + 1))
{
    ZNN_CHECK(n.min_component() >= 1, "lane FFT: empty transform");
    for (int axis = 0; axis < 3; ++axis) {
        fwd_[axis] = LinePlan(n[axis], -1);
        inv_[axis] = LinePlan(n[axis], +1);
    }
}

std::int64_t LaneFft::line_floats() const noexcept
{
    const std::int64_t line = std::max({n_.z, n_.y, n_.x});
    return 2 * line * kBlockFloats + kLanes * kLanes;
}

std::int64_t LaneFft::work_floats(int threads) const noexcept
{
    return freqs_ * kBlockFloats + std::max(threads, 1) * line_floats();
}

namespace {

/// kLanes rows (one per lane; row g at rows[g] with `count` floats valid at stride `step`, zero
/// beyond and for absent lanes), columns x0 .. x0+kLanes−1 as vectors across the lanes.
void load_columns(const float* const* rows, const std::int64_t* valid, const std::int64_t* step, std::int64_t x0, V* out,
                  float* gather)
{
    for (int g = 0; g < kLanes; ++g) {
        const std::int64_t n = rows[g] ? std::min<std::int64_t>(valid[g] - x0, kLanes) : 0;
        if (n <= 0) {
            out[g] = W::zero();
        } else if (step[g] == 1) {
            out[g] = W::load_first(rows[g] + x0, static_cast<int>(n));
        } else {
            for (std::int64_t x = 0; x < kLanes; ++x) gather[x] = x < n ? rows[g][(x0 + x) * step[g]] : 0.0f;
            out[g] = W::load(gather);
        }
    }
    W::transpose(out);
}

/// One thread's line buffers inside the working memory.
struct Lines {
    CV* a;
    CV* b;
    float* gather;
};

/// Runs pass(begin, end, lines) over [0, items): on the calling thread, or split over `threads`.
template <class Pass>
void run_pass(core::ParallelFor* threads, std::int64_t items, float* lines_base, std::int64_t line_floats, std::int64_t line,
              Pass&& pass)
{
    auto lines_of = [&](int t) {
        float* base = lines_base + t * line_floats;
        CV* a = as_cv(base);
        return Lines{a, a + line, reinterpret_cast<float*>(a + 2 * line)};
    };
    if (!threads || threads->threads() == 1 || items < 2) {
        pass(std::int64_t{0}, items, lines_of(0));
        return;
    }
    const std::int64_t grain = std::max<std::int64_t>(1, items / (4 * threads->threads()));
    threads->run(items, grain, [&](std::int64_t begin, std::int64_t end, int t) { pass(begin, end, lines_of(t)); });
}

/// The complex line C = A + i·B (nx values) whose inverse transform has the real row a in its real part
/// and the real row b in its imaginary part, from the two rows' half-spectra (nx/2 + 1 values each;
/// b null: zero). c2r ignores the imaginary parts of DC and Nyquist, and so does this.
void join_hermitian_rows(const CV* a_row, const CV* b_row, std::int64_t nx, CV* line)
{
    const std::int64_t nxc = nx / 2 + 1;
    for (std::int64_t k = 0; k < nx; ++k) {
        const bool mirrored = k >= nxc;  // the conjugate of frequency nx − k
        const std::int64_t at = mirrored ? nx - k : k;
        CV a = a_row[at];
        CV b = b_row ? b_row[at] : CV{W::zero(), W::zero()};
        if (k == 0 || 2 * k == nx) {
            a.im = W::zero();
            b.im = W::zero();
        } else if (mirrored) {
            a.im = W::sub(W::zero(), a.im);
            b.im = W::sub(W::zero(), b.im);
        }
        line[k] = {W::sub(a.re, b.im), W::add(a.im, b.re)};
    }
}

/// Writes (or adds) row (z, y) of the block, the first `width` values of line c (its real or its
/// imaginary parts, one volume per lane) times `scale`, to every target that has the row.
void store_row(const CV* c, bool imaginary, std::int64_t z, std::int64_t y, std::int64_t width, V scale, const LaneTarget* dst,
               int count, float* gather)
{
    for (std::int64_t x0 = 0; x0 < width; x0 += kLanes) {
        V r[kLanes];
        const std::int64_t m = std::min<std::int64_t>(kLanes, width - x0);
        for (std::int64_t j = 0; j < kLanes; ++j) r[j] = j < m ? W::mul(imaginary ? c[x0 + j].im : c[x0 + j].re, scale) : W::zero();
        W::transpose(r);
        for (int g = 0; g < count; ++g) {
            const LaneTarget& t = dst[g];
            if (!t.base || z >= t.valid.z || y >= t.valid.y) continue;
            const std::int64_t n = std::min(std::min(t.valid.x, width) - x0, m);
            if (n <= 0) continue;
            float* p = t.base + z * t.stride.z + y * t.stride.y + x0 * t.stride.x;
            if (t.stride.x == 1) {
                const int ni = static_cast<int>(n);
                W::store_first(p, t.add ? W::add(W::load_first(p, ni), r[g]) : r[g], ni);
                continue;
            }
            W::store(gather, r[g]);
            for (std::int64_t x = 0; x < n; ++x) {
                float& d = p[x * t.stride.x];
                d = t.add ? d + gather[x] : gather[x];
            }
        }
    }
}

}  // namespace

void LaneFft::forward(const LaneVolume* src, int count, const core::Vec3i& block, float scale, float* const* dst,
                      std::int64_t block_stride, float* work, bool streaming, core::ParallelFor* threads) const
{
    const std::int64_t nx = n_.x, ny = n_.y, nz = n_.z, nxc = nxc_;
    const std::int64_t line = std::max({nz, ny, nx});
    CV* vol = as_cv(work);
    float* lines_base = work + freqs_ * kBlockFloats;
    const V half_scale = W::set1(0.5f * scale);  // the 1/2 of separating two real rows from one complex transform

    // x: rows (z, y) and (z, y+1) of the block as the real and imaginary parts of one complex line.
    const std::int64_t pairs = (block.y + 1) / 2;
    run_pass(threads, block.z * pairs, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
        const float* rows[2][kLanes];
        std::int64_t valid[2][kLanes], step[kLanes];
        for (int g = 0; g < kLanes; ++g) step[g] = g < count ? src[g].stride.x : 1;
        for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t z = item / pairs, y = item % pairs * 2;
            const bool pair = y + 1 < block.y;
            for (int h = 0; h < 2; ++h)
                for (int g = 0; g < kLanes; ++g) {
                    const std::int64_t yy = y + h;
                    const LaneVolume* s = g < count ? &src[g] : nullptr;
                    const bool live = s && s->base && (h == 0 || pair) && z < s->valid.z && yy < s->valid.y;
                    rows[h][g] = live ? s->base + z * s->stride.z + yy * s->stride.y : nullptr;
                    valid[h][g] = live ? std::min(s->valid.x, block.x) : 0;
                }
            for (std::int64_t x0 = 0; x0 < block.x; x0 += kLanes) {
                V re[kLanes], im[kLanes];
                load_columns(rows[0], valid[0], step, x0, re, l.gather);
                load_columns(rows[1], valid[1], step, x0, im, l.gather);
                const std::int64_t m = std::min<std::int64_t>(kLanes, block.x - x0);
                for (std::int64_t j = 0; j < m; ++j) l.a[x0 + j] = {W::mul(re[j], half_scale), W::mul(im[j], half_scale)};
            }
            for (std::int64_t x = block.x; x < nx; ++x) l.a[x] = {W::zero(), W::zero()};
            const CV* c = run_line(fwd_[2], l.a, l.b);
            CV* a_row = vol + (z * ny + y) * nxc;
            CV* b_row = a_row + nxc;
            for (std::int64_t k = 0; k < nxc; ++k) {
                const CV ck = c[k], dk = c[(nx - k) % nx];
                // A = (C[k] + conj C[−k]) / 2, B = (C[k] − conj C[−k]) / 2i; the 1/2 is in half_scale.
                a_row[k] = {W::add(ck.re, dk.re), W::sub(ck.im, dk.im)};
                if (pair) b_row[k] = {W::add(ck.im, dk.im), W::sub(dk.re, ck.re)};
            }
        }
    });

    // y: on the planes the block touches, columns of the first block.y rows.
    if (ny > 1)
        run_pass(threads, block.z * nxc, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
            for (std::int64_t item = begin; item < end; ++item) {
                CV* col = vol + item / nxc * ny * nxc + item % nxc;
                for (std::int64_t y = 0; y < block.y; ++y) l.a[y] = col[y * nxc];
                for (std::int64_t y = block.y; y < ny; ++y) l.a[y] = {W::zero(), W::zero()};
                const CV* c = run_line(fwd_[1], l.a, l.b);
                for (std::int64_t y = 0; y < ny; ++y) col[y * nxc] = c[y];
            }
        });

    // z: every column, of which the first block.z values are non-zero.
    const std::int64_t plane = ny * nxc;
    if (nz > 1)
        run_pass(threads, plane, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
            for (std::int64_t j = begin; j < end; ++j) {
                CV* col = vol + j;
                for (std::int64_t z = 0; z < block.z; ++z) l.a[z] = col[z * plane];
                for (std::int64_t z = block.z; z < nz; ++z) l.a[z] = {W::zero(), W::zero()};
                const CV* c = run_line(fwd_[0], l.a, l.b);
                for (std::int64_t z = 0; z < nz; ++z) col[z * plane] = c[z];
            }
        });

    // Out: kLanes frequencies × kLanes volumes, transposed into one block per volume.
    run_pass(threads, blocks(), lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines) {
        for (std::int64_t b = begin; b < end; ++b) {
            V re[kLanes], im[kLanes];
            for (int j = 0; j < kLanes; ++j) {
                const std::int64_t f = b * kLanes + j;
                re[j] = f < freqs_ ? vol[f].re : W::zero();
                im[j] = f < freqs_ ? vol[f].im : W::zero();
            }
            W::transpose(re);
            W::transpose(im);
            if (streaming) {
                for (int g = 0; g < count; ++g) {
                    float* d = dst[g] + b * block_stride;
                    W::stream(d, re[g]);
                    W::stream(d + kLanes, im[g]);
                }
            } else {
                for (int g = 0; g < count; ++g) {
                    float* d = dst[g] + b * block_stride;
                    W::store(d, re[g]);
                    W::store(d + kLanes, im[g]);
                }
            }
        }
    });
}

void LaneFft::inverse(const float* const* src, std::int64_t block_stride, int count, const core::Vec3i& block, float scale,
                      const LaneTarget* dst, float* work, core::ParallelFor* threads) const
{
    const std::int64_t nx = n_.x, ny = n_.y, nz = n_.z, nxc = nxc_;
    const std::int64_t line = std::max({nz, ny, nx});
    CV* vol = as_cv(work);
    float* lines_base = work + freqs_ * kBlockFloats;

    // In: one block per spectrum, transposed into kLanes frequencies × kLanes spectra.
    const std::int64_t nblocks = blocks();
    run_pass(threads, nblocks, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines) {
        constexpr std::int64_t kAhead = 2;  // blocks: the spectra are strided, beyond the prefetchers' reach
        for (std::int64_t b = begin; b < end; ++b) {
            if (b + kAhead < end)
                for (int g = 0; g < count; ++g) {
                    __builtin_prefetch(src[g] + (b + kAhead) * block_stride);
                    __builtin_prefetch(src[g] + (b + kAhead) * block_stride + kLanes);
                }
            V re[kLanes], im[kLanes];
            for (int g = 0; g < kLanes; ++g) {
                re[g] = g < count ? W::load(src[g] + b * block_stride) : W::zero();
                im[g] = g < count ? W::load(src[g] + b * block_stride + kLanes) : W::zero();
            }
            W::transpose(re);
            W::transpose(im);
            const std::int64_t m = std::min<std::int64_t>(kLanes, freqs_ - b * kLanes);
            for (std::int64_t j = 0; j < m; ++j) vol[b * kLanes + j] = {re[j], im[j]};
        }
    });

    // z: every column; only the block's planes are kept.
    const std::int64_t plane = ny * nxc;
    if (nz > 1)
        run_pass(threads, plane, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
            for (std::int64_t j = begin; j < end; ++j) {
                CV* col = vol + j;
                for (std::int64_t z = 0; z < nz; ++z) l.a[z] = col[z * plane];
                const CV* c = run_line(inv_[0], l.a, l.b);
                for (std::int64_t z = 0; z < block.z; ++z) col[z * plane] = c[z];
            }
        });

    // y: on the block's planes; only the block's rows are kept.
    if (ny > 1)
        run_pass(threads, block.z * nxc, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
            for (std::int64_t item = begin; item < end; ++item) {
                CV* col = vol + item / nxc * plane + item % nxc;
                for (std::int64_t y = 0; y < ny; ++y) l.a[y] = col[y * nxc];
                const CV* c = run_line(inv_[1], l.a, l.b);
                for (std::int64_t y = 0; y < block.y; ++y) col[y * nxc] = c[y];
            }
        });

    // x: rows (z, y) and (z, y+1) from one complex line, C = A + i·B over the full Hermitian row.
    const V vscale = W::set1(scale);
    const std::int64_t pairs = (block.y + 1) / 2;
    run_pass(threads, block.z * pairs, lines_base, line_floats(), line, [&](std::int64_t begin, std::int64_t end, Lines l) {
        for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t z = item / pairs, y = item % pairs * 2;
            const bool pair = y + 1 < block.y;
            const CV* a_row = vol + (z * ny + y) * nxc;
            join_hermitian_rows(a_row, pair ? a_row + nxc : nullptr, nx, l.a);
            const CV* c = run_line(inv_[2], l.a, l.b);
            store_row(c, /*imaginary=*/false, z, y, block.x, vscale, dst, count, l.gather);
            if (pair) store_row(c, /*imaginary=*/true, z, y + 1, block.x, vscale, dst, count, l.gather);
        }
    });
}

}  // namespace znn::fft::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
