#include "sic/fft.h"

#include <cmath>
#include <utility>

namespace sic {

int64_t Fft2d::NextPowerOfTwo(int64_t n) {
  int64_t p = 2;
  while (p < n) p *= 2;
  return p;
}

Fft2d::Fft2d(int64_t size) : size_(size), bit_reverse_(size), twiddles_(size / 2) {
  int bits = 0;
  while ((int64_t{1} << bits) < size) ++bits;
  for (int64_t i = 0; i < size; ++i) {
    int64_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bit_reverse_[i] = r;
  }
  for (int64_t k = 0; k < size / 2; ++k) {
    const double a = -2.0 * M_PI * static_cast<double>(k) / static_cast<double>(size);
    twiddles_[k] = {std::cos(a), std::sin(a)};
  }
}

// Iterative radix-2 Cooley-Tukey on one contiguous line.
void Fft2d::Transform1d(std::complex<double>* x, bool inverse) const {
  const int64_t n = size_;
  for (int64_t i = 0; i < n; ++i) {
    if (i < bit_reverse_[i]) std::swap(x[i], x[bit_reverse_[i]]);
  }
  for (int64_t len = 2; len <= n; len *= 2) {
    const int64_t half = len / 2, stride = n / len;
    for (int64_t start = 0; start < n; start += len) {
      for (int64_t k = 0; k < half; ++k) {
        std::complex<double> w = twiddles_[k * stride];
        if (inverse) w = std::conj(w);
        // Written out: std::complex multiplication checks for inf/NaN (slow).
        const std::complex<double> b = x[start + k + half];
        const std::complex<double> t(w.real() * b.real() - w.imag() * b.imag(),
                                     w.real() * b.imag() + w.imag() * b.real());
        x[start + k + half] = x[start + k] - t;
        x[start + k] += t;
      }
    }
  }
}

void Fft2d::Transform(std::complex<double>* data, bool inverse, int64_t nonzero_rows) const {
  const int64_t n = size_;
  for (int64_t r = 0; r < nonzero_rows; ++r) Transform1d(data + r * n, inverse);
  // Columns: gathered into a contiguous line, transformed, scattered back.
  std::vector<std::complex<double>> column(n);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t r = 0; r < n; ++r) column[r] = data[r * n + c];
    Transform1d(column.data(), inverse);
    for (int64_t r = 0; r < n; ++r) data[r * n + c] = column[r];
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(n * n);
    for (int64_t i = 0; i < n * n; ++i) data[i] *= scale;
  }
}

}  // namespace sic
