#include "sic/fields.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

namespace sic {

namespace {

// The map smoothed with a Gaussian of sigma one bin, truncated at two bins and
// normalised over the visited neighbours; unvisited bins stay NaN.
std::vector<double> Smoothed(const float* map, int64_t n) {
  constexpr int64_t kRadius = 2;
  double w[kRadius + 1];
  for (int64_t d = 0; d <= kRadius; ++d) w[d] = std::exp(-0.5 * static_cast<double>(d * d));
  std::vector<double> out(n * n, std::nan(""));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (!std::isfinite(map[i * n + j])) continue;
      double sum = 0, weight = 0;
      for (int64_t di = -kRadius; di <= kRadius; ++di) {
        for (int64_t dj = -kRadius; dj <= kRadius; ++dj) {
          const int64_t a = i + di, b = j + dj;
          if (a < 0 || a >= n || b < 0 || b >= n || !std::isfinite(map[a * n + b])) continue;
          const double k = w[std::abs(di)] * w[std::abs(dj)];
          sum += k * map[a * n + b];
          weight += k;
        }
      }
      out[i * n + j] = sum / weight;
    }
  }
  return out;
}

}  // namespace

int64_t CountFields(const float* raw, int64_t n, double fraction, int64_t min_bins) {
  const std::vector<double> map = Smoothed(raw, n);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : map) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(hi > lo)) return 0;  // nothing visited, or a flat map
  const double level = lo + fraction * (hi - lo);
  std::vector<char> seen(n * n, 0);
  std::vector<int64_t> stack, sizes;
  for (int64_t start = 0; start < n * n; ++start) {
    if (seen[start] || !(map[start] >= level)) continue;
    int64_t size = 0;
    seen[start] = 1;
    stack.push_back(start);
    while (!stack.empty()) {
      const int64_t k = stack.back();
      stack.pop_back();
      ++size;
      const int64_t i = k / n, j = k % n;
      const int64_t next[4] = {i > 0 ? k - n : -1, i + 1 < n ? k + n : -1, j > 0 ? k - 1 : -1,
                               j + 1 < n ? k + 1 : -1};
      for (int64_t q : next) {
        if (q >= 0 && !seen[q] && map[q] >= level) {
          seen[q] = 1;
          stack.push_back(q);
        }
      }
    }
    sizes.push_back(size);
  }
  const int64_t largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  const int64_t floor = std::max<int64_t>(min_bins, (largest + 9) / 10);
  return std::count_if(sizes.begin(), sizes.end(), [floor](int64_t s) { return s >= floor; });
}

}  // namespace sic
