// Fft2d: in-place 2-D discrete Fourier transform of a square power-of-two grid
// of complex doubles, row-major. Small and dependency-free; the analysis uses it
// for autocorrelograms (sic/autocorr.h) and Fourier power (sic/fourier.h).
//
// Forward is sum_x f(x) exp(-2 pi i k x / size); Inverse includes the 1/size^2.
// Thread-safety: const methods are safe to call concurrently on different data.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace sic {

class Fft2d {
 public:
  // `size` must be a power of two >= 2.
  explicit Fft2d(int64_t size);

  int64_t size() const { return size_; }
  void Forward(std::complex<double>* data) const { Transform(data, false, size_); }
  void Inverse(std::complex<double>* data) const { Transform(data, true, size_); }
  // Forward, knowing that only the first `rows` rows can be non-zero (a
  // zero-padded image): skips the row passes over the zero rows.
  void ForwardPadded(std::complex<double>* data, int64_t rows) const { Transform(data, false, rows); }

  // The smallest power of two >= n (and >= 2).
  static int64_t NextPowerOfTwo(int64_t n);

 private:
  void Transform(std::complex<double>* data, bool inverse, int64_t nonzero_rows) const;
  void Transform1d(std::complex<double>* line, bool inverse) const;

  int64_t size_;
  std::vector<int64_t> bit_reverse_;
  std::vector<std::complex<double>> twiddles_;  // exp(-2 pi i k / size), k < size / 2
};

}  // namespace sic
