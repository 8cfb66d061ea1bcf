// Drawing helpers for sic/pictures_cairo.cc: colour maps, a Cairo canvas that
// writes PNG, scaled cell images and plot axes. Internal to sic_pictures.
// Thread-safety: a Canvas belongs to one thread; the functions keep no state.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "sic/status.h"

namespace sic::pictures {

struct Rgb {
  double r, g, b;
};

// Perceptually uniform colours for rates (viridis, 9 stops).
inline Rgb Viridis(double t) {
  static const Rgb stops[] = {{0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
                              {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
                              {0.135, 0.659, 0.518}, {0.478, 0.821, 0.318}, {0.993, 0.906, 0.144}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 8;
  const int i = std::min(static_cast<int>(t), 7);
  const double f = t - i;
  return {stops[i].r + f * (stops[i + 1].r - stops[i].r), stops[i].g + f * (stops[i + 1].g - stops[i].g),
          stops[i].b + f * (stops[i + 1].b - stops[i].b)};
}

// Blue - white - red for correlations in [-1, 1].
inline Rgb Diverging(double c) {
  c = std::clamp(std::isfinite(c) ? c : 0.0, -1.0, 1.0);
  return c < 0 ? Rgb{1 + c * 0.85, 1 + c * 0.6, 1 + c * 0.2} : Rgb{1 - c * 0.2, 1 - c * 0.8, 1 - c * 0.85};
}

// Distinct module colours (Tableau 10); index -1 is grey.
inline Rgb ModuleColour(int module) {
  static const Rgb palette[] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                                {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                                {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};
  return module < 0 ? Rgb{0.75, 0.75, 0.75} : palette[module % 10];
}

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

class Canvas {
 public:
  Canvas(int width, int height)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), &cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), &cairo_destroy) {
    cairo_set_source_rgb(cr(), 1, 1, 1);
    cairo_paint(cr());
    cairo_select_font_face(cr(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  cairo_t* cr() { return cr_.get(); }

  void Colour(const Rgb& c, double alpha = 1) { cairo_set_source_rgba(cr(), c.r, c.g, c.b, alpha); }

  // Text with its left (align 0), centre (0.5) or right (1) end at x, baseline y.
  void Text(double x, double y, const std::string& s, double size, double align = 0, double angle = 0) {
    cairo_set_font_size(cr(), size);
    cairo_text_extents_t ext;
    cairo_text_extents(cr(), s.c_str(), &ext);
    cairo_save(cr());
    cairo_translate(cr(), x, y);
    cairo_rotate(cr(), angle);
    cairo_move_to(cr(), -align * ext.x_advance, 0);
    cairo_set_source_rgb(cr(), 0.1, 0.1, 0.1);
    cairo_show_text(cr(), s.c_str());
    cairo_restore(cr());
  }

  // An image of rows x cols cells scaled into the square (x, y, size), row 0 at
  // the bottom; colour(i) gives cell i (row-major), NaN -> grey.
  template <typename F>
  void Image(double x, double y, double size, int64_t rows, int64_t cols, F colour) {
    Surface img(cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(cols), static_cast<int>(rows)),
                &cairo_surface_destroy);
    cairo_surface_flush(img.get());
    unsigned char* data = cairo_image_surface_get_data(img.get());
    const int stride = cairo_image_surface_get_stride(img.get());
    for (int64_t i = 0; i < rows; ++i) {
      auto* row = reinterpret_cast<uint32_t*>(data + (rows - 1 - i) * stride);
      for (int64_t j = 0; j < cols; ++j) {
        const Rgb c = colour(i * cols + j);
        row[j] = (static_cast<uint32_t>(c.r * 255) << 16) | (static_cast<uint32_t>(c.g * 255) << 8) |
                 static_cast<uint32_t>(c.b * 255);
      }
    }
    cairo_surface_mark_dirty(img.get());
    cairo_save(cr());
    cairo_translate(cr(), x, y);
    cairo_scale(cr(), size / static_cast<double>(cols), size / static_cast<double>(rows));
    cairo_set_source_surface(cr(), img.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr()), CAIRO_FILTER_NEAREST);
    cairo_paint(cr());
    cairo_restore(cr());
  }

  Status Write(const std::string& path) {
    cairo_surface_flush(surface_.get());
    if (cairo_surface_write_to_png(surface_.get(), path.c_str()) != CAIRO_STATUS_SUCCESS) {
      return Status::Error(path + ": cannot write PNG");
    }
    return Status::OK();
  }

 private:
  Surface surface_;
  Context cr_;
};

inline std::string Format(const char* fmt, double v) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A plot frame: data ranges mapped into a pixel box, with ticks and labels.
struct Axes {
  double left, top, width, height;
  double x0, x1, y0, y1;
  double X(double x) const { return left + (x - x0) / (x1 - x0) * width; }
  double Y(double y) const { return top + height - (y - y0) / (y1 - y0) * height; }
};

inline double NiceStep(double range) {
  const double raw = range / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

inline void DrawAxes(Canvas& c, const Axes& a, const std::string& xlabel, const std::string& ylabel,
              bool integer_y = false) {
  cairo_t* cr = c.cr();
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, a.left, a.top, a.width, a.height);
  cairo_stroke(cr);
  const double sx = NiceStep(a.x1 - a.x0);
  const double sy = integer_y ? std::max(1.0, std::round(NiceStep(a.y1 - a.y0))) : NiceStep(a.y1 - a.y0);
  for (double x = std::ceil(a.x0 / sx) * sx; x <= a.x1 + 1e-9; x += sx) {
    cairo_move_to(cr, a.X(x), a.top + a.height);
    cairo_line_to(cr, a.X(x), a.top + a.height + 5);
    cairo_stroke(cr);
    c.Text(a.X(x), a.top + a.height + 18, Format(sx < 0.1 ? "%.2f" : sx < 1 ? "%.1f" : "%.0f", x), 12, 0.5);
  }
  for (double y = std::ceil(a.y0 / sy) * sy; y <= a.y1 + 1e-9; y += sy) {
    cairo_move_to(cr, a.left - 5, a.Y(y));
    cairo_line_to(cr, a.left, a.Y(y));
    cairo_stroke(cr);
    c.Text(a.left - 8, a.Y(y) + 4, Format(sy < 0.1 ? "%.2f" : sy < 1 ? "%.1f" : "%.0f", y), 12, 1);
  }
  c.Text(a.left + a.width / 2, a.top + a.height + 38, xlabel, 13, 0.5);
  c.Text(a.left - 48, a.top + a.height / 2, ylabel, 13, 0.5, -M_PI / 2);
}

}  // namespace sic::pictures
