#include "tests/unit/brute_force_losses.h"

#include <cmath>

namespace sic::testing {

BruteLosses BruteForceLosses(const std::vector<double>& g_all, const std::vector<double>& v, int B, int T,
                             int N, double sigma_x, double sigma_g, bool mean_reduction) {
  auto g = [&](int b, int t, int n) { return g_all[(b * (T + 1) + t) * N + n]; };
  // Flatten states g_1..g_T and their positions.
  std::vector<std::vector<double>> states, pos;
  for (int b = 0; b < B; ++b) {
    double x = 0, y = 0;
    for (int t = 1; t <= T; ++t) {
      x += v[(b * T + t - 1) * 2];
      y += v[(b * T + t - 1) * 2 + 1];
      std::vector<double> s(N);
      for (int n = 0; n < N; ++n) s[n] = g(b, t, n);
      states.push_back(s);
      pos.push_back({x, y});
    }
  }
  const size_t P = states.size();
  double sep = 0, inv = 0;
  long n_sep = 0, n_inv = 0;
  for (size_t i = 0; i < P; ++i) {
    for (size_t j = 0; j < P; ++j) {
      if (i == j) continue;
      const double dx = std::hypot(pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]);
      double dg2 = 0;
      for (int n = 0; n < N; ++n) dg2 += (states[i][n] - states[j][n]) * (states[i][n] - states[j][n]);
      if (dx > sigma_x) {
        sep += std::exp(-dg2 / (2 * sigma_g * sigma_g));
        ++n_sep;
      } else if (dx < sigma_x) {
        inv += dg2;
        ++n_inv;
      }
    }
  }
  if (mean_reduction) {
    sep = n_sep ? sep / n_sep : 0;
    inv = n_inv ? inv / n_inv : 0;
  }
  std::vector<double> mean(N, 0);
  for (const auto& s : states)
    for (int n = 0; n < N; ++n) mean[n] += s[n] / P;
  double cap = 0;
  for (double m : mean) cap -= m * m;

  std::vector<double> ratios;
  for (int b = 0; b < B; ++b) {
    for (int t = 1; t <= T; ++t) {
      const double speed = std::hypot(v[(b * T + t - 1) * 2], v[(b * T + t - 1) * 2 + 1]);
      if (!(speed > 0 && speed < sigma_x)) continue;
      double step2 = 0;
      for (int n = 0; n < N; ++n) step2 += (g(b, t, n) - g(b, t - 1, n)) * (g(b, t, n) - g(b, t - 1, n));
      ratios.push_back(std::sqrt(step2) / speed);
    }
  }
  double coniso = 0;
  if (!ratios.empty()) {
    double m = 0;
    for (double r : ratios) m += r / ratios.size();
    for (double r : ratios) coniso += (r - m) * (r - m) / ratios.size();
  }
  return {sep, inv, cap, coniso};
}

}  // namespace sic::testing
