// A deliberately plain, separate implementation of the four SIC losses
// (sic-method section 3): double loops over every ordered pair, nothing shared
// with sic/losses.cc. The tests hold the real implementation to it.
#pragma once

#include <vector>

namespace sic::testing {

struct BruteLosses {
  double sep, inv, cap, coniso;
};

// g_all: B*(T+1)*N values, row-major [B][T+1][N]; v: B*T*2 values [B][T][2].
BruteLosses BruteForceLosses(const std::vector<double>& g_all, const std::vector<double>& v, int B, int T,
                             int N, double sigma_x, double sigma_g, bool mean_reduction);

}  // namespace sic::testing
