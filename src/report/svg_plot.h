// The SVG primitives report.html draws its charts with: a plot area with linear or
// logarithmic x and linear y, legends, thinned tick values (private).
#ifndef SYNAPSE_SRC_REPORT_SVG_PLOT_H_
#define SYNAPSE_SRC_REPORT_SVG_PLOT_H_

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "util/number_text.h"
#include "report/report_markup.h"

namespace synapse::svg {

using report_markup::Escape;

// A plot area with linear or logarithmic x and linear y.
struct Plot {
  double width = 560, height = 260;
  double left = 56, right = 16, top = 16, bottom = 40;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool log_x = false;
  std::ostringstream svg;

  double X(double x) const {
    const double a = log_x ? std::log(std::max(x, 1e-12)) : x;
    const double lo = log_x ? std::log(std::max(x0, 1e-12)) : x0;
    const double hi = log_x ? std::log(std::max(x1, 1e-12)) : x1;
    const double t = hi > lo ? (a - lo) / (hi - lo) : 0.5;
    return left + t * (width - left - right);
  }
  double Y(double y) const {
    const double t = y1 > y0 ? (y - y0) / (y1 - y0) : 0.5;
    return height - bottom - t * (height - top - bottom);
  }

  void Axes(const std::string& x_label, const std::string& y_label, const std::vector<double>& x_ticks) {
    const double bx = left, by = height - bottom, ex = width - right;
    svg << "<line x1='" << bx << "' y1='" << by << "' x2='" << ex << "' y2='" << by << "' class='axis'/>";
    svg << "<line x1='" << bx << "' y1='" << top << "' x2='" << bx << "' y2='" << by << "' class='axis'/>";
    for (int i = 0; i <= 4; ++i) {
      const double v = y0 + (y1 - y0) * i / 4.0;
      svg << "<line x1='" << bx << "' y1='" << Y(v) << "' x2='" << ex << "' y2='" << Y(v) << "' class='grid'/>";
      svg << "<text x='" << bx - 6 << "' y='" << Y(v) + 4 << "' class='tick' text-anchor='end'>" << Fixed(v, 2)
          << "</text>";
    }
    for (double t : x_ticks) {
      std::ostringstream label;
      label << t;
      svg << "<text x='" << X(t) << "' y='" << by + 16 << "' class='tick' text-anchor='middle'>" << label.str()
          << "</text>";
    }
    svg << "<text x='" << (bx + ex) / 2 << "' y='" << height - 6 << "' class='label' text-anchor='middle'>"
        << Escape(x_label) << "</text>";
    svg << "<text x='14' y='" << (top + by) / 2 << "' class='label' text-anchor='middle' transform='rotate(-90 14 "
        << (top + by) / 2 << ")'>" << Escape(y_label) << "</text>";
  }

  void Line(const std::vector<std::pair<double, double>>& pts, const std::string& cls, bool dots = true) {
    if (pts.empty()) return;
    svg << "<polyline class='" << cls << "' fill='none' points='";
    for (const auto& [x, y] : pts) svg << X(x) << "," << Y(y) << " ";
    svg << "'/>";
    if (dots) {
      for (const auto& [x, y] : pts)
        svg << "<circle class='" << cls << "' cx='" << X(x) << "' cy='" << Y(y) << "' r='3'/>";
    }
  }

  // A band between lower and upper curves at the same xs.
  void Band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
            const std::string& cls) {
    if (xs.empty()) return;
    svg << "<polygon class='" << cls << "' points='";
    for (size_t i = 0; i < xs.size(); ++i) svg << X(xs[i]) << "," << Y(hi[i]) << " ";
    for (size_t i = xs.size(); i-- > 0;) svg << X(xs[i]) << "," << Y(lo[i]) << " ";
    svg << "'/>";
  }

  void HLine(double y, const std::string& cls, const std::string& label) {
    svg << "<line class='" << cls << "' x1='" << left << "' x2='" << width - right << "' y1='" << Y(y) << "' y2='"
        << Y(y) << "'/>";
    if (!label.empty()) {
      svg << "<text class='tick' x='" << width - right - 4 << "' y='" << Y(y) - 4 << "' text-anchor='end'>"
          << Escape(label) << "</text>";
    }
  }

  std::string Done(const std::string& title) {
    std::ostringstream out;
    out << "<svg xmlns='http://www.w3.org/2000/svg' role='img' width='" << width << "' height='" << height
        << "' viewBox='0 0 " << width << " " << height << "'><title>" << Escape(title) << "</title>" << svg.str()
        << "</svg>";
    return out.str();
  }
};

inline std::string Legend(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::ostringstream s;
  s << "<div class='legend'>";
  for (const auto& [cls, name] : entries) s << "<span><i class='" << cls << "'></i>" << Escape(name) << "</span>";
  s << "</div>";
  return s.str();
}

// Ticks for k values: the distinct ks, thinned to about eight.
inline std::vector<double> Thin(std::vector<double> v, size_t keep = 8) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (v.size() <= keep) return v;
  std::vector<double> out;
  const double step = static_cast<double>(v.size() - 1) / static_cast<double>(keep - 1);
  for (size_t i = 0; i < keep; ++i) out.push_back(v[static_cast<size_t>(std::llround(i * step))]);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace synapse::svg

#endif  // SYNAPSE_SRC_REPORT_SVG_PLOT_H_
