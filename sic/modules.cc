#include "sic/modules.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sic {
namespace {

using Group = std::vector<size_t>;  // indices into the inputs

// Splits `members` (sorted by log period) at the KDE valleys.
std::vector<Group> SplitByPeriod(const std::vector<double>& logp, const Group& members, double bw) {
  double lo = logp[members.front()], hi = logp[members.front()];
  for (size_t i : members) lo = std::min(lo, logp[i]), hi = std::max(hi, logp[i]);
  const double step = bw / 10.0, start = lo - 3 * bw;
  const size_t steps = static_cast<size_t>((hi - lo + 6 * bw) / step) + 1;
  std::vector<double> density(steps, 0.0);
  for (size_t s = 0; s < steps; ++s) {
    const double x = start + step * static_cast<double>(s);
    for (size_t i : members) density[s] += std::exp(-0.5 * std::pow((x - logp[i]) / bw, 2));
  }
  // Segments between local minima, each with its peak; merge shallow valleys.
  struct Segment {
    size_t begin, end;  // grid steps [begin, end)
    double peak;
  };
  std::vector<Segment> segments;
  size_t begin = 0;
  for (size_t s = 1; s + 1 < steps; ++s) {
    if (density[s] < density[s - 1] && density[s] <= density[s + 1]) {
      segments.push_back({begin, s, 0});
      begin = s;
    }
  }
  segments.push_back({begin, steps, 0});
  for (auto& seg : segments) seg.peak = *std::max_element(density.begin() + seg.begin, density.begin() + seg.end);
  for (;;) {
    size_t merge = segments.size();
    double worst = 0.5;
    for (size_t k = 0; k + 1 < segments.size(); ++k) {
      const double ratio = density[segments[k + 1].begin] / std::min(segments[k].peak, segments[k + 1].peak);
      if (ratio > worst) worst = ratio, merge = k;
    }
    if (merge == segments.size()) break;
    segments[merge].end = segments[merge + 1].end;
    segments[merge].peak = std::max(segments[merge].peak, segments[merge + 1].peak);
    segments.erase(segments.begin() + static_cast<std::ptrdiff_t>(merge) + 1);
  }
  std::vector<Group> groups(segments.size());
  for (size_t i : members) {
    const double x = (logp[i] - start) / step;
    size_t k = 0;
    while (k + 1 < segments.size() && x >= static_cast<double>(segments[k + 1].begin)) ++k;
    groups[k].push_back(i);
  }
  groups.erase(std::remove_if(groups.begin(), groups.end(), [](const Group& g) { return g.empty(); }), groups.end());
  return groups;
}

// Splits a group at wide circular gaps in orientation (modulo 60), if every part stays large enough.
std::vector<Group> SplitByOrientation(const std::vector<double>& orient, Group group, const ModuleOptions& o) {
  if (group.size() < 2 * static_cast<size_t>(o.min_units)) return {group};
  std::sort(group.begin(), group.end(), [&](size_t a, size_t b) { return orient[a] < orient[b]; });
  std::vector<size_t> cuts;  // a part starts at each cut
  for (size_t k = 0; k < group.size(); ++k) {
    const double next = k + 1 < group.size() ? orient[group[k + 1]] : orient[group[0]] + 60.0;
    if (next - orient[group[k]] > o.orientation_gap_deg) cuts.push_back((k + 1) % group.size());
  }
  if (cuts.size() < 2) return {group};  // one gap on a circle still leaves one arc
  std::vector<Group> parts;
  for (size_t c = 0; c < cuts.size(); ++c) {
    Group part;
    for (size_t k = cuts[c]; k != cuts[(c + 1) % cuts.size()]; k = (k + 1) % group.size()) part.push_back(group[k]);
    if (part.size() < static_cast<size_t>(o.min_units)) return {group};
    parts.push_back(part);
  }
  return parts;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

double MeanOrientation60(const std::vector<double>& orientations_deg) {
  double s = 0, c = 0;
  for (double a : orientations_deg) {
    s += std::sin(a * 6 * M_PI / 180.0);
    c += std::cos(a * 6 * M_PI / 180.0);
  }
  double mean = std::atan2(s, c) * 180.0 / M_PI / 6.0;
  if (mean < 0) mean += 60.0;
  return mean >= 60.0 ? mean - 60.0 : mean;
}

std::vector<int> ClusterModules(const std::vector<double>& periods, const std::vector<double>& orientations_deg,
                                const ModuleOptions& options) {
  std::vector<int> labels(periods.size(), -1);
  if (periods.empty()) return labels;
  std::vector<double> logp(periods.size());
  Group all(periods.size());
  std::iota(all.begin(), all.end(), 0);
  for (size_t i = 0; i < periods.size(); ++i) logp[i] = std::log(periods[i]);

  std::vector<Group> modules;
  for (const Group& g : SplitByPeriod(logp, all, options.bandwidth)) {
    for (Group& part : SplitByOrientation(orientations_deg, g, options)) {
      if (part.size() >= static_cast<size_t>(options.min_units)) modules.push_back(std::move(part));
    }
  }
  std::vector<double> medians;
  for (const Group& g : modules) {
    std::vector<double> p;
    for (size_t i : g) p.push_back(periods[i]);
    medians.push_back(Median(p));
  }
  std::vector<size_t> order(modules.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return medians[a] < medians[b]; });
  for (size_t rank = 0; rank < order.size(); ++rank) {
    for (size_t i : modules[order[rank]]) labels[i] = static_cast<int>(rank);
  }
  return labels;
}

std::vector<int> HarmonicOf(const std::vector<double>& periods, const std::vector<double>& orientations_deg,
                            const HarmonicOptions& options) {
  // The triangular lattice's next two Fourier shells: period ratio, turn.
  static constexpr struct {
    double ratio, turn_deg;
  } kShells[] = {{1.7320508075688772, 30.0}, {2.0, 0.0}};
  std::vector<int> out(periods.size(), -1);
  for (size_t m = 0; m < periods.size(); ++m) {
    if (!(periods[m] > 0)) continue;
    double best = options.ratio_tolerance;
    for (size_t j = 0; j < periods.size(); ++j) {
      if (!(periods[j] > periods[m])) continue;
      const double ratio = periods[j] / periods[m];
      double turn = std::fmod(std::fabs(orientations_deg[j] - orientations_deg[m]), 60.0);
      turn = std::min(turn, 60.0 - turn);  // in [0, 30]
      for (const auto& shell : kShells) {
        const double off = std::fabs(ratio / shell.ratio - 1.0);
        if (off <= best && std::fabs(turn - shell.turn_deg) <= options.angle_tolerance_deg) {
          best = off;
          out[m] = static_cast<int>(j);
        }
      }
    }
  }
  return out;
}

}  // namespace sic
