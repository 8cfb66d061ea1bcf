#include "sic/autocorr.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

namespace sic {

using Complex = std::complex<double>;

namespace {

// The Pearson correlation at one lag by direct sums over the overlap, with the
// reference's formula; 0 where it is not finite.
template <typename T>
double DirectCorrelation(const T* map, int64_t n, bool nan_as_zero, int64_t dy, int64_t dx) {
  double count = 0, s1 = 0, s2 = 0, q1 = 0, q2 = 0, sxy = 0;
  for (int64_t i = std::max<int64_t>(0, dy); i < n + std::min<int64_t>(0, dy); ++i) {
    for (int64_t j = std::max<int64_t>(0, dx); j < n + std::min<int64_t>(0, dx); ++j) {
      double a = static_cast<double>(map[i * n + j]);
      double b = static_cast<double>(map[(i - dy) * n + (j - dx)]);
      if (!std::isfinite(a) || !std::isfinite(b)) {
        if (!nan_as_zero) continue;
        if (!std::isfinite(a)) a = 0.0;
        if (!std::isfinite(b)) b = 0.0;
      }
      count += 1;
      s1 += b;
      q1 += b * b;
      s2 += a;
      q2 += a * a;
      sxy += a * b;
    }
  }
  const double var1 = q1 / count - s1 * s1 / (count * count), var2 = q2 / count - s2 * s2 / (count * count);
  // A constant overlap has zero variance; the reference divides its rounding
  // noise by rounding noise here (a flat map gets S90 ~ 1), we give 0.
  if (!(var1 > 1e-12 * q1 / count) || !(var2 > 1e-12 * q2 / count)) return 0.0;
  const double corr = (sxy / count - s1 * s2 / (count * count)) / (std::sqrt(var1) * std::sqrt(var2));
  return std::isfinite(corr) ? corr : 0.0;
}

}  // namespace

Autocorrelator::Autocorrelator(int64_t n) : n_(n), fft_(Fft2d::NextPowerOfTwo(2 * n - 1)) {}

void Autocorrelator::Compute(const float* map, bool nan_as_zero, double* sac) const {
  ComputeImpl(map, nan_as_zero, sac);
}
void Autocorrelator::Compute(const double* map, bool nan_as_zero, double* sac) const {
  ComputeImpl(map, nan_as_zero, sac);
}

template <typename T>
void Autocorrelator::ComputeImpl(const T* map, bool nan_as_zero, double* sac) const {
  const int64_t n = n_, p = fft_.size(), w = 2 * n - 1;
  // a = s + i m (values and validity packed in one transform), b = s^2. The
  // grid is zero-padded to p >= 2n - 1 so circular correlation equals linear.
  std::vector<Complex> a(p * p), b(p * p);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double v = static_cast<double>(map[i * n + j]);
      const bool valid = std::isfinite(v);
      const double s = valid ? v : 0.0;
      a[i * p + j] = Complex(s, valid || nan_as_zero ? 1.0 : 0.0);
      b[i * p + j] = Complex(s * s, 0.0);
    }
  }
  fft_.ForwardPadded(a.data(), n);
  fft_.ForwardPadded(b.data(), n);

  // Unpack S and M from A, then form two spectra whose inverse transforms carry
  // two real correlations each (real part, imaginary part):
  //   a' = |S|^2 + i |M|^2       -> Sxy(d), N(d)
  //   b' = M S* + i M Q*         -> sum_k m[k] s[k-d], sum_k m[k] s^2[k-d]
  std::vector<Complex> c(p * p), d(p * p);
  for (int64_t ky = 0; ky < p; ++ky) {
    const int64_t my = (p - ky) % p;
    for (int64_t kx = 0; kx < p; ++kx) {
      const int64_t mx = (p - kx) % p;
      const Complex z = a[ky * p + kx], zc = std::conj(a[my * p + mx]);
      const Complex s = 0.5 * (z + zc);
      const Complex m = Complex(0.0, -0.5) * (z - zc);
      const Complex q = b[ky * p + kx];
      c[ky * p + kx] = Complex(std::norm(s), std::norm(m));
      const Complex ms = m * std::conj(s), mq = m * std::conj(q);
      d[ky * p + kx] = ms + Complex(-mq.imag(), mq.real());
    }
  }
  fft_.Inverse(c.data());
  fft_.Inverse(d.data());

  // Sum of |s| over any rectangle, to recognise overlaps that are all zero
  // (their correlation is 0/0, i.e. 0 in the reference) without rounding noise.
  std::vector<double> box((n + 1) * (n + 1), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double v = static_cast<double>(map[i * n + j]);
      box[(i + 1) * (n + 1) + j + 1] = (std::isfinite(v) ? std::abs(v) : 0.0) + box[i * (n + 1) + j + 1] +
                                       box[(i + 1) * (n + 1) + j] - box[i * (n + 1) + j];
    }
  }
  auto box_sum = [&](int64_t i0, int64_t j0, int64_t i1, int64_t j1) {  // rows i0..i1-1, cols j0..j1-1
    return box[i1 * (n + 1) + j1] - box[i0 * (n + 1) + j1] - box[i1 * (n + 1) + j0] + box[i0 * (n + 1) + j0];
  };
  // The transforms carry an absolute rounding error of about 1e-15 of the
  // total sum of squares; lags whose overlap varies less than 1e-6 of it are
  // summed directly instead, so tiny-valued regions correlate as in the reference.
  const double total_sq = d[0].imag();
  const double exact_below = 1e-6 * total_sq;

  auto wrap = [p](int64_t lag) { return lag < 0 ? lag + p : lag; };
  for (int64_t dy = -(n - 1); dy <= n - 1; ++dy) {
    for (int64_t dx = -(n - 1); dx <= n - 1; ++dx) {
      double& out = sac[(dy + n - 1) * w + (dx + n - 1)];
      // Overlap: bins k with k and k - d inside the map.
      const int64_t i0 = std::max<int64_t>(0, dy), i1 = n + std::min<int64_t>(0, dy);
      const int64_t j0 = std::max<int64_t>(0, dx), j1 = n + std::min<int64_t>(0, dx);
      if (box_sum(i0, j0, i1, j1) == 0.0 || box_sum(i0 - dy, j0 - dx, i1 - dy, j1 - dx) == 0.0) {
        out = 0.0;
        continue;
      }
      const int64_t at = wrap(dy) * p + wrap(dx), mirror = wrap(-dy) * p + wrap(-dx);
      const double count = std::round(c[at].imag());
      if (count < 1.0) {
        out = 0.0;
        continue;
      }
      const double s1 = d[at].real(), q1 = d[at].imag();          // the map at k - d
      const double s2 = d[mirror].real(), q2 = d[mirror].imag();  // the map at k
      const double ss1 = q1 - s1 * s1 / count, ss2 = q2 - s2 * s2 / count;
      if (ss1 > exact_below && ss2 > exact_below) {
        const double cov = c[at].real() / count - s1 * s2 / (count * count);
        out = cov / std::sqrt(ss1 / count * (ss2 / count));
      } else {
        out = DirectCorrelation(map, n, nan_as_zero, dy, dx);
      }
    }
  }
}

}  // namespace sic
