// Pictures with Cairo (see sic/pictures.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>

#include "sic/autocorr.h"
#include "sic/gridscore.h"
#include "sic/pictures.h"
#include "sic/pictures_canvas.h"
#include "sic/phases.h"

namespace sic {
namespace {

constexpr int kTopUnits = 32;
constexpr int kColumns = 8;

using namespace pictures;  // NOLINT: the drawing vocabulary of this file

// Units by decreasing score; silent units (NaN score) after every active one.
std::vector<int64_t> TopUnits(const PopulationAnalysis& a, int count) {
  std::vector<int64_t> order(a.units.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int64_t u) { return std::isfinite(a.units[u].score) ? a.units[u].score : -1e300; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return key(x) > key(y); });
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(count)));
  return order;
}

std::string Header(const ArenaReport& r, size_t shown) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "arena %g m, %lld x %lld bins: top %zu of %lld units by score60 (%s)", r.arena_size,
                static_cast<long long>(r.bins), static_cast<long long>(r.bins), shown,
                static_cast<long long>(r.maps.units), r.analysis.options.min_max ? "min-max" : "mean");
  std::string out = buf;
  if (r.analysis.silent > 0) out += "; " + std::to_string(r.analysis.silent) + " silent (no score), last";
  return out;
}

Status DrawSheet(const ArenaReport& r, const std::string& path, bool sacs) {
  const auto& a = r.analysis;
  const auto top = TopUnits(a, kTopUnits);
  const int tile = 150, title = 34, pad = 10, header = 30;
  const int rows = static_cast<int>((top.size() + kColumns - 1) / kColumns);
  Canvas c(kColumns * (tile + pad) + pad, header + rows * (tile + title + pad) + pad);
  c.Text(pad, 20, Header(r, top.size()) + (sacs ? ", autocorrelograms" : ", rate maps"), 14);
  const int64_t n = r.bins, w = 2 * n - 1;
  const Autocorrelator autocorr(n);
  std::vector<double> sac(w * w);
  for (size_t k = 0; k < top.size(); ++k) {
    const int64_t u = top[k];
    const UnitAnalysis& ua = a.units[u];
    const double x = pad + static_cast<double>(k % kColumns) * (tile + pad);
    const double y = header + static_cast<double>(k / kColumns) * (tile + title + pad);
    std::string line1 = "#" + std::to_string(u) + (ua.silent ? "  silent" : "  s60 " + Format("%.2f", ua.score));
    std::string line2 = ua.lattice.found ? Format("%.2f m", ua.lattice.period * a.bin_size) : "no lattice";
    line2 += ua.module >= 0 ? "  module " + std::to_string(ua.module) : "  " + ua.fourier.pattern;
    c.Text(x, y + 13, line1, 12);
    c.Text(x, y + 28, line2, 11);
    if (ua.module >= 0) {
      c.Colour(ModuleColour(ua.module));
      cairo_rectangle(c.cr(), x + tile - 12, y + 4, 10, 10);
      cairo_fill(c.cr());
    }
    const double iy = y + title;
    if (!sacs) {
      const float* m = r.maps.map(u);
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < n * n; ++i) {
        if (std::isfinite(m[i])) lo = std::min(lo, m[i]), hi = std::max(hi, m[i]);
      }
      const double span = hi > lo ? hi - lo : 1.0;
      c.Image(x, iy, tile, n, n, [&](int64_t i) {
        return std::isfinite(m[i]) ? Viridis((m[i] - lo) / span) : Rgb{0.85, 0.85, 0.85};
      });
      continue;
    }
    autocorr.Compute(r.maps.map(u), a.options.nan_as_zero, sac.data());
    c.Image(x, iy, tile, w, w, [&](int64_t i) { return Diverging(sac[i]); });
    // The best annulus, and the six peaks when there is a lattice.
    const double scale = tile / static_cast<double>(w), cx = x + tile / 2.0, cy = iy + tile / 2.0;
    cairo_set_line_width(c.cr(), 1);
    c.Colour({0.1, 0.1, 0.1}, 0.6);
    for (double rad : {0.2 * n, GridScorer::MaskOuterFraction(ua.scores.mask60) * n}) {
      cairo_new_sub_path(c.cr());
      cairo_arc(c.cr(), cx, cy, rad * scale, 0, 2 * M_PI);
    }
    cairo_stroke(c.cr());
    if (ua.lattice.found) {
      c.Colour({0, 0, 0});
      for (const auto& p : ua.lattice.ring) {
        cairo_new_sub_path(c.cr());
        cairo_arc(c.cr(), cx + p[1] * scale, cy - p[0] * scale, 2.5, 0, 2 * M_PI);
      }
      cairo_fill(c.cr());
    }
  }
  return c.Write(path);
}

Status DrawPeriods(const ArenaReport& r, const std::string& path) {
  const auto& a = r.analysis;
  Canvas c(760, 460);
  c.Text(20, 24, Format("arena %g m: periods of units with a hexagonal lattice", r.arena_size), 14);
  std::vector<std::pair<double, int>> periods;  // metres, module
  double hi = 0;
  for (const auto& u : a.units) {
    if (!u.lattice.found) continue;
    periods.push_back({u.lattice.period * a.bin_size, u.module});
    hi = std::max(hi, u.lattice.period * a.bin_size);
  }
  const Axes ax{80, 50, 460, 330, 0, hi > 0 ? hi * 1.1 : r.arena_size / 2, 0, 1};
  if (periods.empty()) {
    DrawAxes(c, ax, "period (m)", "units", /*integer_y=*/true);
    c.Text(ax.left + ax.width / 2, ax.top + ax.height / 2, "no unit has a ring of six peaks", 14, 0.5);
    return c.Write(path);
  }
  const int n_bins = 30;
  const double width = (ax.x1 - ax.x0) / n_bins;
  const int n_modules = static_cast<int>(a.modules.size());
  // counts[bin][module + 1], stacked with "no module" at the bottom.
  std::vector<std::vector<int>> counts(n_bins, std::vector<int>(n_modules + 1, 0));
  for (const auto& [p, m] : periods) counts[std::min(n_bins - 1, static_cast<int>(p / width))][m + 1]++;
  int peak = 1;
  for (const auto& b : counts) peak = std::max(peak, std::accumulate(b.begin(), b.end(), 0));
  Axes axes = ax;
  axes.y1 = peak * 1.1;
  for (int b = 0; b < n_bins; ++b) {
    double base = 0;
    for (int m = -1; m < n_modules; ++m) {
      const int k = counts[b][m + 1];
      if (!k) continue;
      c.Colour(ModuleColour(m));
      cairo_rectangle(c.cr(), axes.X(b * width) + 1, axes.Y(base + k), axes.X((b + 1) * width) - axes.X(b * width) - 2,
                      axes.Y(base) - axes.Y(base + k));
      cairo_fill(c.cr());
      base += k;
    }
  }
  DrawAxes(c, axes, "period (m)", "units", /*integer_y=*/true);
  double ly = 70;
  for (int m = -1; m < n_modules; ++m) {
    c.Colour(ModuleColour(m));
    cairo_rectangle(c.cr(), 560, ly - 10, 12, 12);
    cairo_fill(c.cr());
    std::string label = "no module";
    if (m >= 0) {
      label = "module " + std::to_string(m) + ": " + Format("%.3f m", a.modules[m].period_bins * a.bin_size) + ", " +
              std::to_string(a.modules[m].units.size()) + " units";
    }
    c.Text(578, ly, label, 12);
    ly += 20;
  }
  return c.Write(path);
}

Status DrawDistance(const ArenaReport& r, const std::string& path) {
  const DistanceCurve& d = r.distance;
  Canvas c(700, 440);
  c.Text(20, 24, Format("arena %g m: ||g(x) - g0|| against the distance from the start", r.arena_size), 14);
  double ymax = 0.1, xmax = 0;
  for (size_t b = 0; b < d.mean.size(); ++b) {
    if (d.count[b] == 0) continue;
    ymax = std::max(ymax, d.mean[b] + d.std[b]);
    xmax = (static_cast<double>(b) + 1) * d.bin_width;
  }
  const Axes ax{80, 50, 580, 320, 0, xmax > 0 ? xmax : 1, 0, ymax * 1.05};
  auto x_of = [&](size_t b) { return ax.X((static_cast<double>(b) + 0.5) * d.bin_width); };
  // +-1 std band, then the mean.
  c.Colour({0.12, 0.47, 0.71}, 0.2);
  bool started = false;
  for (size_t b = 0; b < d.mean.size(); ++b) {
    if (d.count[b] == 0) continue;
    started ? cairo_line_to(c.cr(), x_of(b), ax.Y(d.mean[b] + d.std[b]))
            : cairo_move_to(c.cr(), x_of(b), ax.Y(d.mean[b] + d.std[b]));
    started = true;
  }
  for (size_t b = d.mean.size(); b-- > 0;) {
    if (d.count[b] > 0) cairo_line_to(c.cr(), x_of(b), ax.Y(std::max(0.0, d.mean[b] - d.std[b])));
  }
  cairo_close_path(c.cr());
  cairo_fill(c.cr());
  c.Colour({0.12, 0.47, 0.71});
  cairo_set_line_width(c.cr(), 2);
  started = false;
  for (size_t b = 0; b < d.mean.size(); ++b) {
    if (d.count[b] == 0) continue;
    started ? cairo_line_to(c.cr(), x_of(b), ax.Y(d.mean[b])) : cairo_move_to(c.cr(), x_of(b), ax.Y(d.mean[b]));
    started = true;
  }
  cairo_stroke(c.cr());
  DrawAxes(c, ax, "distance from the start |x - x0| (m)", "||g(x) - g0||");
  return c.Write(path);
}

// The module pictures' layout: a title over up to four square panels, one per
// module, each under caption(module). draw(canvas, module, x, y) fills that
// module's kPanel x kPanel panel, whose top-left corner is (x, y).
constexpr int kPanel = 220;
template <typename Caption, typename Draw>
Status DrawModulePanels(const ArenaReport& r, const std::string& path, const std::string& title, Caption caption,
                        Draw draw) {
  const int pad = 16, header = 30, caption_height = 22;
  const int shown = static_cast<int>(std::min<size_t>(r.analysis.modules.size(), 4));
  Canvas c(std::max(640, pad + shown * (kPanel + pad)), header + caption_height + kPanel + pad);
  c.Text(pad, 20, Format("arena %g m: ", r.arena_size) + title, 14);
  for (int m = 0; m < shown; ++m) {
    const double x = pad + m * (kPanel + pad), y = header + caption_height;
    c.Text(x, header + 14, caption(r.analysis.modules[m]), 12);
    draw(c, r.analysis.modules[m], x, y);
  }
  return c.Write(path);
}

Status DrawModulePower(const ArenaReport& r, const std::string& path) {
  const auto& a = r.analysis;
  const int64_t p = a.power_size;
  auto caption = [&](const ModuleSummary& mod) {
    return "module " + std::to_string(mod.id) + ": " + Format("%.3f m", mod.period_bins * a.bin_size) + ", " +
           std::to_string(mod.units.size()) + " units";
  };
  auto draw = [&](Canvas& c, const ModuleSummary& mod, double x, double y) {
    double kmax = 0;
    for (const auto& k : mod.fourier.wavevectors) kmax = std::max(kmax, k.norm() * p);
    const int64_t half = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(2.5 * std::max(kmax, 2.0))), 4, p / 2);
    const int64_t side = 2 * half + 1, c0 = p / 2 - half;
    double hi = 0;
    for (int64_t i = 0; i < side; ++i) {
      for (int64_t j = 0; j < side; ++j) hi = std::max(hi, static_cast<double>(mod.mean_power[(c0 + i) * p + c0 + j]));
    }
    c.Image(x, y, kPanel, side, side, [&](int64_t i) {
      const int64_t row = i / side, col = i % side;
      return Viridis(hi > 0 ? std::sqrt(mod.mean_power[(c0 + row) * p + c0 + col] / hi) : 0);
    });
    const double scale = kPanel / static_cast<double>(side), cx = x + kPanel / 2.0, cy = y + kPanel / 2.0;
    cairo_set_line_width(c.cr(), 1.5);
    c.Colour({1, 0.3, 0.3});
    for (const auto& k : mod.fourier.wavevectors) {
      for (double sign : {1.0, -1.0}) {
        cairo_new_sub_path(c.cr());
        cairo_arc(c.cr(), cx + sign * k.kx * p * scale, cy - sign * k.ky * p * scale, 6, 0, 2 * M_PI);
      }
    }
    cairo_stroke(c.cr());
  };
  return DrawModulePanels(r, path, "mean Fourier power per module (lattice wavevectors circled)", caption, draw);
}

// Per module, its unit cell (the basis dual to its first two wavevectors, y
// upward) with a dot at each unit's phase and its copies in the neighbouring
// cells drawn faint, so that the spread across the cell's edges shows.
Status DrawPhases(const ArenaReport& r, const std::string& path) {
  const auto& a = r.analysis;
  auto caption = [](const ModuleSummary& mod) {
    return "module " + std::to_string(mod.id) + Format(": tiling %.2f", mod.phase_tiling) +
           Format(" (z %.1f)", mod.phase_tiling_z);
  };
  auto draw = [&](Canvas& c, const ModuleSummary& mod, double x0, double y0) {
    if (mod.fourier.wavevectors.size() < 2) return;
    const LatticeBasis b = DualBasis(mod.fourier.wavevectors[0], mod.fourier.wavevectors[1]);
    if (!b.ok) return;
    // The cell's corners are 0, a1, a1 + a2 and a2; scale its bounding box, with
    // half a cell's margin for the neighbouring copies, into the panel.
    const double xs[] = {0, b.a1x, b.a1x + b.a2x, b.a2x}, ys[] = {0, b.a1y, b.a1y + b.a2y, b.a2y};
    const double lo_x = *std::min_element(xs, xs + 4), hi_x = *std::max_element(xs, xs + 4);
    const double lo_y = *std::min_element(ys, ys + 4), hi_y = *std::max_element(ys, ys + 4);
    const double span = std::max(hi_x - lo_x, hi_y - lo_y);
    const double scale = kPanel / (1.5 * span), mx = (lo_x + hi_x) / 2, my = (lo_y + hi_y) / 2;
    auto at = [&](double f1, double f2, double* px, double* py) {
      *px = x0 + kPanel / 2.0 + (f1 * b.a1x + f2 * b.a2x - mx) * scale;
      *py = y0 + kPanel / 2.0 - (f1 * b.a1y + f2 * b.a2y - my) * scale;
    };
    cairo_save(c.cr());
    cairo_rectangle(c.cr(), x0, y0, kPanel, kPanel);
    cairo_clip(c.cr());
    double px, py;
    c.Colour({0.3, 0.3, 0.3});
    cairo_set_line_width(c.cr(), 1);
    const double corners[][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    for (int i = 0; i < 4; ++i) {
      at(corners[i][0], corners[i][1], &px, &py);
      i == 0 ? cairo_move_to(c.cr(), px, py) : cairo_line_to(c.cr(), px, py);
    }
    cairo_close_path(c.cr());
    cairo_stroke(c.cr());
    for (int64_t u : mod.units) {
      const auto& f = a.units[u].phase;
      if (!std::isfinite(f[0]) || !std::isfinite(f[1])) continue;
      for (int s1 = -1; s1 <= 1; ++s1) {
        for (int s2 = -1; s2 <= 1; ++s2) {
          at(f[0] + s1, f[1] + s2, &px, &py);
          c.Colour(ModuleColour(mod.id), s1 == 0 && s2 == 0 ? 1.0 : 0.25);
          cairo_new_sub_path(c.cr());
          cairo_arc(c.cr(), px, py, 3.5, 0, 2 * M_PI);
          cairo_fill(c.cr());
        }
      }
    }
    cairo_restore(c.cr());
  };
  return DrawModulePanels(r, path, "units' phases in their module's unit cell (tiling: 1 random, 2.15 even)", caption,
                          draw);
}

}  // namespace

bool PicturesAvailable() { return true; }

Result<std::vector<std::string>> DrawArenaPictures(const ArenaReport& report, const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  auto draw = [&](const char* name, auto fn) -> Status {
    if (Status s = fn(report, (fs::path(dir) / name).string()); !s.ok()) return s;
    written.push_back(name);
    return Status::OK();
  };
  if (report.maps.units < 1) return written;
  if (Status s = draw("ratemaps.png", [](const ArenaReport& r, const std::string& p) { return DrawSheet(r, p, false); });
      !s.ok()) {
    return s;
  }
  if (Status s = draw("autocorrelograms.png",
                      [](const ArenaReport& r, const std::string& p) { return DrawSheet(r, p, true); });
      !s.ok()) {
    return s;
  }
  if (Status s = draw("periods.png", DrawPeriods); !s.ok()) return s;
  if (Status s = draw("distance.png", DrawDistance); !s.ok()) return s;
  // The module pictures: none without a module (and none left from an earlier evaluation).
  for (const auto& [name, fn] : {std::pair{"module_power.png", &DrawModulePower}, std::pair{"phases.png", &DrawPhases}}) {
    std::error_code ec;
    if (report.analysis.modules.empty()) {
      fs::remove(fs::path(dir) / name, ec);
    } else if (Status s = draw(name, fn); !s.ok()) {
      return s;
    }
  }
  return written;
}

}  // namespace sic
