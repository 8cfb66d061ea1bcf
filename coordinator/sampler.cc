#include "coordinator/sampler.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <tuple>

#include "sic/rng.h"

namespace sic {
namespace {

using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- The standard normal in log space (the truncated kernels' tails need it).

// log Phi(a), accurate far into the left tail (erfc underflows below a = -37).
double LogNdtr(double a) {
  if (a > 6) return std::log1p(-0.5 * std::erfc(a / std::sqrt(2.0)));
  if (a > -20) return std::log(0.5 * std::erfc(-a / std::sqrt(2.0)));
  // Asymptotic series: Phi(a) = phi(a) / -a * (1 - 1/a^2 + 3/a^4 - 15/a^6 ...).
  const double log_lhs = -0.5 * a * a - std::log(-a) - 0.5 * std::log(2 * M_PI);
  double sum = 1, term = 1;
  for (int i = 1; i < 64; ++i) {
    const double next = -term * (2 * i - 1) / (a * a);
    if (std::abs(next) < 1e-17) break;
    term = next;
    sum += term;
  }
  return log_lhs + std::log(sum);
}

// log(exp(lp) - exp(lq)) for lp >= lq.
double LogDiff(double lp, double lq) { return lp + std::log1p(-std::exp(lq - lp)); }

double LogAddExp(double x, double y) {
  const double m = std::max(x, y);
  if (m == -kInf) return -kInf;
  return m + std::log(std::exp(x - m) + std::exp(y - m));
}

// log of the standard normal's mass on [a, b], a <= b; each tail in its own
// left-hand form, where it is accurate.
double LogGaussMass(double a, double b) {
  if (b <= 0) return LogDiff(LogNdtr(b), LogNdtr(a));
  if (a > 0) return LogDiff(LogNdtr(-a), LogNdtr(-b));
  return std::log1p(-0.5 * std::erfc(-a / std::sqrt(2.0)) - 0.5 * std::erfc(b / std::sqrt(2.0)));
}

// The x with LogNdtr(x) = y, by bisection (LogNdtr is increasing); x in [-100, 100].
double NdtriExp(double y) {
  double lo = -100, hi = 100;
  for (int i = 0; i < 100 && lo < hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid == lo || mid == hi) break;
    (LogNdtr(mid) < y ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// The u-quantile of the standard normal truncated to [a, b] (a < b), computed
// from the side of zero where the bound's mass is not lost to rounding.
double TruncNormPpf(double u, double a, double b) {
  if (u <= 0) return a;
  const double mass = LogGaussMass(a, b);
  double x;
  if (a < 0) {
    x = NdtriExp(LogAddExp(LogNdtr(a), std::log(u) + mass));
  } else {
    x = -NdtriExp(LogAddExp(LogNdtr(-b), std::log1p(-u) + mass));
  }
  return std::clamp(x, a, b);
}

// ---- Parameters in the sampler's coordinates.

// One parameter of the space as the estimators see it: numeric ones on
// [low, high] (log space for log_uniform, the offset from int_lo widened by
// half a step for int_uniform), choices by index.
struct Axis {
  const ParamDist* dist = nullptr;
  bool categorical = false;
  bool discrete = false;   // int: a value stands for [x - 0.5, x + 0.5]
  double low = 0, high = 0;
  size_t n_choices = 0;
};

Axis MakeAxis(const ParamDist& d) {
  Axis a;
  a.dist = &d;
  switch (d.kind) {
    case ParamDist::kUniform: a.low = d.lo, a.high = d.hi; break;
    case ParamDist::kLogUniform: a.low = std::log(d.lo), a.high = std::log(d.hi); break;
    case ParamDist::kIntUniform:
      a.discrete = true, a.low = -0.5, a.high = static_cast<double>(d.span) + 0.5;
      break;
    case ParamDist::kChoice: a.categorical = true, a.n_choices = d.choices.size(); break;
  }
  return a;
}

// A parameter with one possible value takes no part in the search.
bool IsSingle(const ParamDist& d) {
  return (d.kind == ParamDist::kIntUniform && d.span == 0) ||
         (d.kind == ParamDist::kChoice && d.choices.size() == 1);
}

json SingleValue(const ParamDist& d) {
  return d.kind == ParamDist::kChoice ? d.choices[0] : json(d.int_lo);
}

// An observed value in the axis' coordinates, or nullopt when it does not fit
// the parameter (wrong type, out of range, not a choice).
std::optional<double> ToInternal(const Axis& axis, const json& v) {
  const ParamDist& d = *axis.dist;
  if (axis.categorical) {
    for (size_t i = 0; i < d.choices.size(); ++i) {
      if (d.choices[i] == v) return static_cast<double>(i);
    }
    return std::nullopt;
  }
  if (!v.is_number()) return std::nullopt;
  if (d.kind == ParamDist::kIntUniform) {
    if (v.is_number_float()) return std::nullopt;
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    const int64_t x = v.get<int64_t>();
    if (x < d.int_lo) return std::nullopt;
    const uint64_t offset = static_cast<uint64_t>(x) - static_cast<uint64_t>(d.int_lo);
    if (offset > d.span) return std::nullopt;
    return static_cast<double>(offset);
  }
  const double x = v.get<double>();
  if (!std::isfinite(x)) return std::nullopt;
  // DrawParam's exp(log) may land an ulp outside; allow a hair and clamp.
  const double slack = 1e-9 * (d.hi - d.lo);
  if (x < d.lo - slack || x > d.hi + slack) return std::nullopt;
  const double inside = std::clamp(x, d.lo, d.hi);
  return d.kind == ParamDist::kLogUniform ? std::log(inside) : inside;
}

// lo + offset computed without overflow (offset <= span keeps it <= INT64_MAX).
int64_t OffsetFrom(int64_t lo, uint64_t offset) {
  const uint64_t u = static_cast<uint64_t>(lo) + offset;
  int64_t out;
  std::memcpy(&out, &u, sizeof out);
  return out;
}

json ToExternal(const Axis& axis, double x) {
  const ParamDist& d = *axis.dist;
  switch (d.kind) {
    case ParamDist::kUniform: return std::clamp(x, d.lo, d.hi);
    case ParamDist::kLogUniform: return std::clamp(std::exp(x), d.lo, d.hi);
    case ParamDist::kIntUniform: {
      // x is already rounded and within [0, span] as a double; 2^64 would not convert.
      if (!(x > 0)) return d.int_lo;
      if (x >= 18446744073709551616.0) return OffsetFrom(d.int_lo, d.span);
      return OffsetFrom(d.int_lo, std::min(static_cast<uint64_t>(x), d.span));
    }
    case ParamDist::kChoice: return d.choices[static_cast<size_t>(x)];
  }
  return json();
}

// The int axis' value nearest x (Optuna rounds its continuous draws).
double RoundToStep(const Axis& axis, double x) {
  return std::clamp(std::round(x), 0.0, axis.high - 0.5);
}

// ---- The Parzen estimator.

// A mixture of one kernel per observation plus the prior kernel (last).
// Numeric axes: truncated normals (mu, sigma). Choice axes: observation i's
// kernel gives its own choice c_i weight 1 + b and every other b, over 1 + k b
// (b = prior_weight / m, k choices); the prior's is uniform. Kept as the
// observed index alone, so that k x m never has to fit in memory.
struct Estimator {
  std::vector<double> weights;                  // [m], sums to 1; m = n + 1
  std::vector<std::vector<double>> mu, sigma;   // [axis][m], numeric axes; [axis][n] c_i, choice axes
  std::vector<std::vector<double>> log_norm;    // [axis][m]: log of the kernel's mass in range
  double choice_b = 0;                          // b above
};

// Component i's probability of choice c on a choice axis.
double ChoiceProb(const Estimator& e, const Axis& a, const std::vector<double>& observed, size_t i, size_t c) {
  const double k = static_cast<double>(a.n_choices);
  if (i == observed.size()) return 1.0 / k;  // the prior
  const double hit = static_cast<size_t>(observed[i]) == c ? 1.0 : 0.0;
  return (hit + e.choice_b) / (1.0 + k * e.choice_b);
}

// Optuna's default_weights: ones for n < 25, else a ramp from 1/n to 1 over
// the oldest n - 25 and ones for the newest 25.
std::vector<double> DefaultWeights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n < 25) return w;
  const size_t ramp = n - 25;
  for (size_t i = 0; i < ramp; ++i) {
    const double t = ramp == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(ramp - 1);
    w[i] = 1.0 / static_cast<double>(n) + t * (1.0 - 1.0 / static_cast<double>(n));
  }
  return w;
}

// Each kernel as wide as the larger gap to its sorted neighbours among the
// observations (the range's ends as outer neighbours); the lowest and the
// highest take their inner gap instead (Optuna's consider_endpoints=False).
std::vector<double> NeighbourSigmas(const std::vector<double>& mus, double low, double high) {
  const size_t m = mus.size();
  std::vector<size_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
  std::vector<double> s(m + 2);  // sorted, with the ends
  s[0] = low, s[m + 1] = high;
  for (size_t i = 0; i < m; ++i) s[i + 1] = mus[order[i]];
  std::vector<double> sorted_sigma(m);
  for (size_t i = 0; i < m; ++i) sorted_sigma[i] = std::max(s[i + 1] - s[i], s[i + 2] - s[i + 1]);
  if (m >= 2) {
    sorted_sigma[0] = s[2] - s[1];
    sorted_sigma[m - 1] = s[m] - s[m - 1];
  }
  std::vector<double> sigma(m);
  for (size_t i = 0; i < m; ++i) sigma[order[i]] = sorted_sigma[i];
  return sigma;
}

// `rows` are the group's observations in trial order, one internal value per axis.
Estimator Build(const std::vector<Axis>& axes, const std::vector<const std::vector<double>*>& rows,
                const SamplerOptions& opt) {
  const size_t n = rows.size(), m = n + 1, d = axes.size();
  Estimator e;
  e.weights = DefaultWeights(n);
  e.weights.push_back(opt.prior_weight);
  double total = 0;
  for (double w : e.weights) total += w;
  for (double& w : e.weights) w /= total;

  e.choice_b = opt.prior_weight / static_cast<double>(m);
  e.mu.resize(d), e.sigma.resize(d), e.log_norm.resize(d);
  for (size_t j = 0; j < d; ++j) {
    const Axis& a = axes[j];
    if (a.categorical) {
      for (size_t i = 0; i < n; ++i) e.mu[j].push_back((*rows[i])[j]);
      continue;
    }
    const double range = a.high - a.low;
    std::vector<double>& mu = e.mu[j];
    mu.resize(n);
    for (size_t i = 0; i < n; ++i) mu[i] = (*rows[i])[j];
    std::vector<double>& sigma = e.sigma[j];
    sigma = NeighbourSigmas(mu, a.low, a.high);
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(m));  // magic clip
    for (double& s : sigma) s = std::clamp(s, min_sigma, range);
    mu.push_back(0.5 * (a.low + a.high));  // the prior
    sigma.push_back(range);
    e.log_norm[j].resize(m);
    for (size_t i = 0; i < m; ++i) {
      e.log_norm[j][i] = LogGaussMass((a.low - mu[i]) / sigma[i], (a.high - mu[i]) / sigma[i]);
    }
  }
  return e;
}

size_t PickWeighted(const std::vector<double>& w, Rng& rng) {
  double u = rng.Uniform();
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    u -= w[i];
    if (u < 0) return i;
  }
  return w.size() - 1;
}

// One point of the mixture: a component by weight, then each axis from it.
std::vector<double> Draw(const Estimator& e, const std::vector<Axis>& axes, Rng& rng) {
  const size_t k = PickWeighted(e.weights, rng);
  std::vector<double> x(axes.size());
  for (size_t j = 0; j < axes.size(); ++j) {
    const Axis& a = axes[j];
    if (a.categorical) {
      // Observation k's own choice with probability 1 / (1 + n_choices b),
      // else any choice uniformly (which gives ChoiceProb); the prior: uniformly.
      const std::vector<double>& observed = e.mu[j];
      const double choices = static_cast<double>(a.n_choices);
      const double u = rng.Uniform(), v = rng.Uniform();
      const bool own = k < observed.size() && u * (1.0 + choices * e.choice_b) < 1.0;
      x[j] = own ? observed[k] : std::min(std::floor(v * choices), choices - 1);
      continue;
    }
    const double mu = e.mu[j][k], s = e.sigma[j][k];
    const double z = TruncNormPpf(rng.Uniform(), (a.low - mu) / s, (a.high - mu) / s);
    x[j] = std::clamp(mu + s * z, a.low, a.high);
    if (a.discrete) x[j] = RoundToStep(a, x[j]);
  }
  return x;
}

// log of the mixture's density (int axes: probability mass) at x.
double LogPdf(const Estimator& e, const std::vector<Axis>& axes, const std::vector<double>& x) {
  std::vector<double> lps(e.weights.size());
  for (size_t k = 0; k < e.weights.size(); ++k) {
    double lp = std::log(e.weights[k]);
    for (size_t j = 0; j < axes.size() && lp > -kInf; ++j) {
      const Axis& a = axes[j];
      if (a.categorical) {
        lp += std::log(ChoiceProb(e, a, e.mu[j], k, static_cast<size_t>(x[j])));
        continue;
      }
      const double mu = e.mu[j][k], s = e.sigma[j][k];
      if (a.discrete) {
        const double lo = std::max(x[j] - 0.5, a.low), hi = std::min(x[j] + 0.5, a.high);
        lp += LogGaussMass((lo - mu) / s, (hi - mu) / s) - e.log_norm[j][k];
      } else {
        const double z = (x[j] - mu) / s;
        lp += -0.5 * z * z - 0.5 * std::log(2 * M_PI) - std::log(s) - e.log_norm[j][k];
      }
    }
    lps[k] = lp;
  }
  const double top = *std::max_element(lps.begin(), lps.end());
  if (top == -kInf) return -kInf;
  double sum = 0;
  for (double lp : lps) sum += std::exp(lp - top);
  return top + std::log(sum);
}

// The candidate from `below` that maximises l(x) / g(x).
std::vector<double> BestCandidate(const std::vector<Axis>& axes,
                                  const std::vector<const std::vector<double>*>& below,
                                  const std::vector<const std::vector<double>*>& above,
                                  const SamplerOptions& opt, Rng& rng) {
  const Estimator l = Build(axes, below, opt), g = Build(axes, above, opt);
  std::vector<double> best;
  double best_score = -kInf;
  for (int c = 0; c < opt.n_ei_candidates; ++c) {
    std::vector<double> x = Draw(l, axes, rng);
    const double score = LogPdf(l, axes, x) - LogPdf(g, axes, x);
    if (best.empty() || score > best_score) best = std::move(x), best_score = score;
  }
  return best;
}

json RandomSuggestion(const SamplerOptions& opt, const std::vector<ParamDist>& space, int64_t number) {
  Rng rng(opt.seed, kSamplerRandomStream, static_cast<uint64_t>(number));
  json out = json::object();
  for (const ParamDist& d : space) out[d.key] = DrawParam(d, rng);
  return out;
}

size_t Gamma(size_t n) { return std::min<size_t>((n + 9) / 10, 25); }  // min(ceil(0.1 n), 25)

}  // namespace

SamplerOptions SamplerOptionsFor(const SearchSpec& search, const Objective& objective) {
  SamplerOptions o;
  o.method = search.method;
  o.seed = search.seed;
  o.maximize = objective.maximize;
  return o;
}

json Suggest(const SamplerOptions& options, const std::vector<ParamDist>& space,
             const std::vector<Observation>& history, int64_t number) {
  SamplerOptions opt = options;
  opt.n_startup_trials = std::max(opt.n_startup_trials, 0);
  opt.n_ei_candidates = std::clamp(opt.n_ei_candidates, 1, kSamplerMaxCandidates);
  if (!std::isfinite(opt.prior_weight) || opt.prior_weight <= 0) opt.prior_weight = 1.0;
  if (opt.method == SearchSpec::kRandom) return RandomSuggestion(opt, space, number);

  std::vector<Axis> axes;
  for (const ParamDist& d : space) {
    if (!IsSingle(d)) axes.push_back(MakeAxis(d));
  }

  // The usable observations in trial order: their values in axis coordinates
  // and their rank keys (smaller is better; pending after everything).
  struct Row {
    std::vector<double> x;
    std::tuple<int, double, double> key;  // (class, -depth or -inf, signed value)
  };
  std::vector<Row> rows;
  size_t n_valued = 0;
  for (const Observation& o : history) {
    if (o.state == Observation::kFailed) continue;
    if (o.state == Observation::kPending && !opt.constant_liar) continue;
    if (!o.params.is_object()) continue;
    Row r;
    r.x.reserve(axes.size());
    for (const Axis& a : axes) {
      auto it = o.params.find(a.dist->key);
      std::optional<double> v = it == o.params.end() ? std::nullopt : ToInternal(a, *it);
      if (!v) break;
      r.x.push_back(*v);
    }
    if (r.x.size() != axes.size()) continue;
    if (o.state == Observation::kPending) {
      r.key = {2, 0, 0};
    } else {
      const double signed_value = opt.maximize ? -o.value : o.value;
      const double tier = o.state == Observation::kComplete ? -kInf : -static_cast<double>(o.depth);
      r.key = std::isnan(o.value) ? std::make_tuple(1, tier, 0.0) : std::make_tuple(0, tier, signed_value);
      ++n_valued;
    }
    rows.push_back(std::move(r));
  }
  if (axes.empty() || n_valued < static_cast<size_t>(opt.n_startup_trials)) {
    return RandomSuggestion(opt, space, number);
  }

  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].key < rows[b].key; });
  const size_t n_below = Gamma(n_valued);
  std::vector<bool> is_below(rows.size(), false);
  for (size_t i = 0; i < n_below; ++i) is_below[order[i]] = true;
  std::vector<const std::vector<double>*> below, above;  // each in trial order
  for (size_t i = 0; i < rows.size(); ++i) (is_below[i] ? below : above).push_back(&rows[i].x);

  Rng rng(opt.seed, kSamplerTpeStream, static_cast<uint64_t>(number));
  std::vector<double> x(axes.size());
  if (opt.multivariate) {
    x = BestCandidate(axes, below, above, opt, rng);
  } else {
    // One parameter at a time, each with its own estimators and candidates.
    for (size_t j = 0; j < axes.size(); ++j) {
      std::vector<std::vector<double>> b1, a1;
      for (const auto* r : below) b1.push_back({(*r)[j]});
      for (const auto* r : above) a1.push_back({(*r)[j]});
      std::vector<const std::vector<double>*> bp, ap;
      for (const auto& r : b1) bp.push_back(&r);
      for (const auto& r : a1) ap.push_back(&r);
      x[j] = BestCandidate({axes[j]}, bp, ap, opt, rng)[0];
    }
  }

  json out = json::object();
  size_t j = 0;
  for (const ParamDist& d : space) {
    if (IsSingle(d)) {
      out[d.key] = SingleValue(d);
    } else {
      out[d.key] = ToExternal(axes[j], x[j]);
      ++j;
    }
  }
  return out;
}

}  // namespace sic
