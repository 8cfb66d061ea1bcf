#include "sic/fields.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sic {

int64_t CountFields(const float* map, int64_t n, double fraction, int64_t min_bins) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n * n; ++i) {
    if (std::isfinite(map[i])) {
      lo = std::min(lo, static_cast<double>(map[i]));
      hi = std::max(hi, static_cast<double>(map[i]));
    }
  }
  if (!(hi > lo)) return 0;  // nothing visited, or a flat map
  const double level = lo + fraction * (hi - lo);
  std::vector<char> seen(n * n, 0);
  std::vector<int64_t> stack;
  int64_t fields = 0;
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
    if (size >= min_bins) ++fields;
  }
  return fields;
}

}  // namespace sic
