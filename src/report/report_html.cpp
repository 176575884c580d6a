// report.html: one self-contained page of SVG charts drawn from whatever a report holds.
#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "util/number_text.h"
#include "report/report_markup.h"
#include "report/svg_plot.h"
#include "synapse/report_files.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;
using report_markup::At;
using report_markup::ClassDisplayName;
using report_markup::Escape;
using report_markup::Items;
using report_markup::Num;
using report_markup::Str;
using svg::Legend;
using svg::Plot;
using svg::Thin;

// ---------------------------------------------------------------- sections

std::string Section(const std::string& id, const std::string& title, const std::string& body,
                    const std::string& note = "") {
  std::ostringstream s;
  s << "<section id='" << id << "'><h2>" << Escape(title) << "</h2>";
  if (!note.empty()) s << "<p class='note'>" << note << "</p>";
  s << body << "</section>\n";
  return s.str();
}

std::string TestsSection(const json& tests) {
  int passed = 0, failed = 0, skipped = 0;
  for (const json& t : tests) {
    const std::string status = Str(At(t, "status"));
    passed += status == "passed";
    failed += status == "failed";
    skipped += status == "skipped";
  }
  std::ostringstream s;
  s << "<p class='verdict " << (failed ? "bad" : "good") << "'>" << passed << " passed, " << failed << " failed";
  if (skipped) s << ", " << skipped << " skipped";
  s << "</p><table class='tests'><thead><tr><th>test</th><th>verdict</th><th>query</th><th>metric</th><th>value</th>"
       "<th>interval</th><th>threshold</th></tr></thead><tbody>";
  for (const json& t : tests) {
    const std::string status = Str(At(t, "status"));
    const json& assertions = At(t, "assertions");
    const size_t rows = std::max<size_t>(1, assertions.is_array() ? assertions.size() : 0);
    s << "<tr class='" << status << "'><td rowspan='" << rows << "'>" << Escape(Str(At(t, "suite"))) << "."
      << Escape(Str(At(t, "name"))) << "</td><td rowspan='" << rows << "' class='status'>" << status << "</td>";
    if (!assertions.is_array() || assertions.empty()) {
      s << "<td colspan='5' class='muted'>no Synapse assertion</td></tr>";
    }
    bool first = true;
    for (const json& a : Items(assertions)) {
      if (!first) s << "<tr class='" << status << "'>";
      first = false;
      const json& interval = At(a, "interval");
      std::string iv = "";
      if (interval.is_array() && interval.size() == 2) {
        const double lo = Num(interval[0]), hi = Num(interval[1]);
        // One-sided bounds (a drop's excess, an asymmetry) have one end only.
        if (std::isfinite(lo) && std::isfinite(hi))
          iv = "[" + Fixed(lo) + ", " + Fixed(hi) + "]";
        else if (std::isfinite(lo))
          iv = "≥ " + Fixed(lo);
        else if (std::isfinite(hi))
          iv = "≤ " + Fixed(hi);
      }
      const bool matched = Str(At(a, "verdict")) == "match";
      const bool weakness = At(a, "known_weakness").is_boolean() && At(a, "known_weakness").get<bool>();
      // An adaptive gate's assertion: how far it read and why it stopped.
      const json& adaptive = At(t, "adaptive");
      std::string read;
      if (adaptive.is_object()) {
        read = "<br><span class='muted'>" + std::to_string(static_cast<int64_t>(Num(At(adaptive, "examples")))) +
               " of " + std::to_string(static_cast<int64_t>(Num(At(adaptive, "of")))) + " examples, " +
               Escape(Str(At(adaptive, "stopped"))) + "</span>";
      }
      s << "<td title='" << Escape(Str(At(a, "what"))) << "'>" << Escape(Str(At(a, "query"))) << "</td><td>"
        << Escape(Str(At(a, "metric"))) << (weakness ? " <span class='weak'>known weakness</span>" : "") << read
        << "</td><td class='"
        << (weakness  ? "weakv"
            : matched ? "ok"
                      : "miss")
        << "'>" << Fixed(Num(At(a, "value"))) << "</td><td>" << iv << "</td><td>"
        << (std::isfinite(Num(At(a, "threshold")))
                ? Escape(Str(At(a, "comparison"))) + " " + Fixed(Num(At(a, "threshold")))
                : Escape(Str(At(a, "requirement"))))
        << "</td></tr>";
    }
    const json& failures = At(t, "failures");
    if (failures.is_array() && !failures.empty()) {
      s << "<tr class='" << status << "'><td colspan='7'><pre>";
      for (const json& f : failures) s << Escape(Str(f)) << "\n";
      s << "</pre></td></tr>";
    }
  }
  s << "</tbody></table>";
  return s.str();
}

std::string BaselineSection(const json& report) {
  const json& base = At(report, "baseline");
  const json& recall = At(base, "recall");
  const json& ci = At(base, "recall_ci");
  if (!recall.is_object() || recall.empty()) return "";
  Plot p;
  p.left = 110;
  p.height = 40 + 34.0 * static_cast<double>(recall.size() + 1);
  p.bottom = 30;
  std::ostringstream& svg = p.svg;
  const double bar_w = p.width - p.left - p.right - 44;  // room for the value
  auto bar = [&](int row, const std::string& name, double v, double lo, double hi, const std::string& cls) {
    const double y = p.top + 34.0 * row;
    svg << "<text x='" << p.left - 8 << "' y='" << y + 16 << "' class='label' text-anchor='end'>" << Escape(name)
        << "</text>";
    svg << "<rect class='" << cls << "' x='" << p.left << "' y='" << y + 4 << "' width='"
        << bar_w * std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0) << "' height='18'/>";
    if (std::isfinite(lo) && std::isfinite(hi)) {
      svg << "<line class='whisker' x1='" << p.left + bar_w * lo << "' x2='" << p.left + bar_w * hi << "' y1='"
          << y + 13 << "' y2='" << y + 13 << "'/>";
    }
    svg << "<text x='" << p.left + bar_w * std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0) + 4 << "' y='" << y + 17
        << "' class='tick'>" << Fixed(v) << "</text>";
  };
  const json& acc_ci = At(base, "accuracy_ci");
  bar(0, "accuracy", Num(At(base, "accuracy")), acc_ci.is_array() ? Num(acc_ci[0]) : NAN,
      acc_ci.is_array() ? Num(acc_ci[1]) : NAN, "bar-acc");
  int row = 1;
  for (const auto& [name, v] : recall.items()) {
    const json& c = At(ci, name.c_str());
    bar(row++, "recall " + ClassDisplayName(name), Num(v), c.is_array() ? Num(c[0]) : NAN,
        c.is_array() ? Num(c[1]) : NAN, "bar");
  }
  for (int i = 0; i <= 4; ++i) {
    const double x = p.left + bar_w * i / 4.0;
    svg << "<text x='" << x << "' y='" << p.height - 8 << "' class='tick' text-anchor='middle'>" << Fixed(i / 4.0, 2)
        << "</text>";
  }
  std::ostringstream note;
  note << "Accuracy and recall per class on " << Num(At(At(report, "data"), "examples"), 0)
       << " examples, with their Wilson intervals.";
  return Section("baseline", "Baseline", p.Done("baseline accuracy and per-class recall"), note.str());
}

std::string ProbeSection(const json& layers) {
  std::vector<std::pair<double, double>> pts;
  std::vector<double> xs, lo, hi;
  for (const json& l : layers) {
    const json& probe = At(l, "probe");
    if (!probe.is_object()) continue;
    const double x = Num(At(l, "index"));
    pts.emplace_back(x, Num(At(probe, "test_accuracy")));
    const json& ci = At(probe, "test_accuracy_ci");
    xs.push_back(x);
    lo.push_back(ci.is_array() ? Num(ci[0]) : pts.back().second);
    hi.push_back(ci.is_array() ? Num(ci[1]) : pts.back().second);
  }
  if (pts.empty()) return "";
  Plot p;
  p.x0 = pts.front().first - 0.5;
  p.x1 = pts.back().first + 0.5;
  double ymin = 1;
  for (double v : lo) ymin = std::min(ymin, v);
  p.y0 = std::max(0.0, std::floor(ymin * 10) / 10 - 0.05);
  p.y1 = 1;
  p.Axes("layer", "held-out accuracy", xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    p.svg << "<line class='whisker' x1='" << p.X(xs[i]) << "' x2='" << p.X(xs[i]) << "' y1='" << p.Y(lo[i]) << "' y2='"
          << p.Y(hi[i]) << "'/>";
  }
  p.Line(pts, "probe");
  return Section("probes", "Probe accuracy per layer", p.Done("probe accuracy per layer"),
                 "A linear probe on each layer's pooled vector, scored on held-out examples (Wilson 95% whiskers).");
}

std::string AblationSection(const json& layers, const json& report) {
  const double base = Num(At(At(report, "baseline"), "accuracy"));
  std::ostringstream body;
  int charts = 0;
  for (const json& l : layers) {
    std::map<std::string, std::vector<std::pair<double, double>>> lines;
    std::vector<double> rx, rlo, rhi;
    std::vector<std::pair<double, double>> rmean;
    std::vector<double> ks;
    std::map<double, const json*> random_by_k;
    for (const json& e : At(l, "experiments")) {
      const std::string sel = Str(At(e, "selection"));
      if (Str(At(e, "positions")) == "pooled" || Str(At(e, "op")) == "mean") continue;  // one family per chart
      const double k = Num(At(e, "k"));
      const double acc = Num(At(At(e, "metrics"), "accuracy"));
      if (sel == "top" || sel == "bottom") {
        lines[sel].emplace_back(k, acc);
        ks.push_back(k);
      }
      if (sel == "random") {
        random_by_k[k] = &e;
        ks.push_back(k);
      }
    }
    if (lines.empty() && random_by_k.empty()) continue;
    for (const auto& [k, e] : random_by_k) {
      const json& range = At(At(*e, "range"), "accuracy");
      const json& ci = At(At(*e, "metrics"), "accuracy_ci");
      const json& band = range.is_array() ? range : ci;
      const double acc = Num(At(At(*e, "metrics"), "accuracy"));
      rx.push_back(k);
      rlo.push_back(band.is_array() ? Num(band[0]) : acc);
      rhi.push_back(band.is_array() ? Num(band[1]) : acc);
      rmean.emplace_back(k, acc);
    }
    Plot p;
    p.width = 420;
    std::sort(ks.begin(), ks.end());
    p.x0 = ks.front();
    p.x1 = ks.back();
    p.log_x = p.x1 / std::max(p.x0, 1.0) > 8;
    if (p.x1 == p.x0) {
      p.x0 = p.x0 - 1;
      p.x1 = p.x1 + 1;
      p.log_x = false;
    }
    double ymin = std::isfinite(base) ? base : 1;
    for (auto& [sel, pts] : lines) {
      std::sort(pts.begin(), pts.end());
      for (const auto& pt : pts) ymin = std::min(ymin, pt.second);
    }
    for (double v : rlo) ymin = std::min(ymin, v);
    p.y0 = std::max(0.0, std::floor(ymin * 20) / 20 - 0.05);
    p.y1 = 1;
    p.Axes("k (neurons ablated)", "accuracy", Thin(ks));
    p.Band(rx, rlo, rhi, "band");
    p.Line(rmean, "random");
    if (lines.count("top")) p.Line(lines["top"], "top");
    if (lines.count("bottom")) p.Line(lines["bottom"], "bottom");
    if (std::isfinite(base)) p.HLine(base, "baseline", "baseline " + Fixed(base));
    body << "<figure><figcaption>layer " << Num(At(l, "index"), 0) << " · " << Escape(Str(At(l, "name")))
         << "</figcaption>" << p.Done("ablation curve, layer " + Str(At(l, "index"))) << "</figure>";
    ++charts;
  }
  if (charts == 0) return "";
  return Section("ablation", "Ablation curves",
                 Legend({{"top", "top-k by probe importance"},
                         {"random", "random k (band: range over draws, or 95% interval)"},
                         {"bottom", "bottom-k"},
                         {"baseline", "no ablation"}}) +
                     "<div class='grid'>" + body.str() + "</div>",
                 "Accuracy after zeroing k neurons of a layer at every token. A top-k curve well below the random "
                 "band means the probe found neurons the model relies on.");
}

std::string Color(double drop) {
  // Recall drop → white (0) to red (≥ 0.5); gains → blue.
  const double t = std::clamp(std::abs(drop) / 0.5, 0.0, 1.0);
  const int fade = static_cast<int>(std::lround(255 * (1 - t)));
  std::ostringstream s;
  if (drop >= 0)
    s << "rgb(255," << fade << "," << fade << ")";
  else
    s << "rgb(" << fade << "," << fade << ",255)";
  return s.str();
}

std::string HeatmapSection(const json& layers, const json& report) {
  const json& base_recall = At(At(report, "baseline"), "recall");
  std::vector<std::string> classes;
  for (const json& c : At(At(report, "data"), "classes")) classes.push_back(Str(c));
  std::ostringstream rows;
  int count = 0;
  for (const json& l : layers) {
    for (const json& e : At(l, "experiments")) {
      if (Str(At(e, "selection")) != "class_top") continue;
      const json& recall = At(At(e, "metrics"), "recall");
      rows << "<tr><th>layer " << Num(At(l, "index"), 0) << ", top-" << Num(At(e, "k"), 0) << " of "
           << Escape(ClassDisplayName(Str(At(e, "class")))) << (Str(At(e, "positions")) == "pooled" ? " (pooled)" : "")
           << "</th>";
      for (const std::string& c : classes) {
        const double drop = Num(At(base_recall, c.c_str())) - Num(At(recall, c.c_str()));
        rows << "<td style='background:" << (std::isfinite(drop) ? Color(drop) : "#eee") << "'"
             << (c == Str(At(e, "class")) ? " class='own'" : "") << ">" << Fixed(drop) << "</td>";
      }
      rows << "</tr>";
      ++count;
    }
  }
  if (count == 0) return "";
  std::ostringstream s;
  s << "<table class='heatmap'><thead><tr><th>ablated</th>";
  for (const std::string& c : classes) s << "<th>drop of " << Escape(ClassDisplayName(c)) << "</th>";
  s << "</tr></thead><tbody>" << rows.str() << "</tbody></table>";
  return Section("heatmap", "Per-class ablation", s.str(),
                 "Recall drop of every class (columns) after zeroing one class's top-k neurons (rows); the outlined "
                 "cell is the ablated class's own. Red: recall lost; blue: gained.");
}

std::string NoiseSection(const json& layers) {
  std::ostringstream rows;
  int count = 0;
  for (const json& l : layers) {
    for (const json& e : At(l, "experiments")) {
      if (Str(At(e, "selection")) != "noise") continue;
      const json& m = At(e, "metrics");
      rows << "<tr><td>" << Num(At(l, "index"), 0) << "</td><td>" << Fixed(Num(At(e, "sigma")), 2) << "</td><td>"
           << Fixed(Num(At(m, "accuracy"))) << "</td><td>" << Fixed(Num(At(m, "accuracy_drop"))) << "</td><td>"
           << Fixed(Num(At(m, "flip_rate"))) << "</td></tr>";
      ++count;
    }
  }
  if (count == 0) return "";
  return Section("noise", "Activation noise",
                 "<table><thead><tr><th>layer</th><th>σ (× neuron std)</th><th>accuracy</th><th>drop</th><th>flip "
                 "rate</th></tr></thead><tbody>" +
                     rows.str() + "</tbody></table>");
}

std::string LogitSection(const json& report) {
  const json& curve = At(At(report, "logit_space"), "curve");
  if (!curve.is_array() || curve.size() < 2) return "";
  std::vector<double> xs, lo, hi;
  std::vector<std::pair<double, double>> pts;
  for (const json& c : curve) {
    const double b = Num(At(c, "budget"));
    if (!(b > 0)) continue;
    xs.push_back(b);
    pts.emplace_back(b, Num(At(c, "flip_rate")));
    const json& ci = At(c, "flip_rate_ci");
    lo.push_back(ci.is_array() ? Num(ci[0]) : pts.back().second);
    hi.push_back(ci.is_array() ? Num(ci[1]) : pts.back().second);
  }
  if (pts.size() < 2) return "";
  Plot p;
  p.x0 = xs.front();
  p.x1 = xs.back();
  p.log_x = p.x1 / p.x0 > 8;
  p.y0 = 0;
  p.y1 = 1;
  std::vector<double> ticks;
  for (size_t i = 0; i < xs.size(); i += std::max<size_t>(1, xs.size() / 6)) {
    ticks.push_back(std::round(xs[i] * 100) / 100);
  }
  p.Axes("logit budget (L∞)", "share of labels flipped", ticks);
  p.Band(xs, lo, hi, "band");
  p.Line(pts, "top", false);
  const json& one = At(At(At(report, "logit_space"), "budget_flipping"), "0.01");
  std::string note =
      "The share of examples whose label a change of at most the budget to each logit can flip "
      "(95% band).";
  if (one.is_number()) note += " 1% of the labels flip at a budget of " + Fixed(one.get<double>()) + ".";
  return Section("logits", "Logit flip budget", p.Done("logit flip-budget curve"), note);
}

std::string WeightSection(const json& report) {
  const json& w = At(report, "weight_space");
  const json& classes = At(w, "classes");
  if (!classes.is_array() || classes.empty()) return "";
  // The head parameters the searches perturbed ("classifier.weight", "classifier.bias").
  const json& head = At(w, "head");
  auto named = [](const std::string& what, const json& parameter) {
    return parameter.is_string() ? what + " (<code>" + Escape(parameter.get<std::string>()) + "</code>)" : what;
  };
  std::ostringstream s;
  s << "<table><thead><tr><th>class</th><th>" << named("head-weight factor", At(head, "weight")) << "</th><th>"
    << named("bias shift", At(head, "bias")) << "</th><th>target rate</th></tr></thead><tbody>";
  for (const json& c : classes) {
    auto value = [](const json& search, const char* key) {
      if (!At(search, "reached").is_boolean()) return std::string("n/a");
      if (!At(search, "reached").get<bool>()) return std::string("not reached");
      return Fixed(Num(At(search, key))) + " (moves " + Fixed(Num(At(search, "rate"))) + ")";
    };
    s << "<tr><td>" << Escape(ClassDisplayName(Str(At(c, "class")))) << "</td><td>"
      << value(At(c, "head_scale"), "factor") << "</td><td>" << value(At(c, "bias_shift"), "shift") << "</td><td>"
      << Fixed(Num(At(w, "target_rate")), 2) << "</td></tr>";
  }
  s << "</tbody></table>";
  return Section("weights", "Weight space", s.str(),
                 "The smallest scaling of a class's largest head weights, and the smallest shift of its bias, that "
                 "send the target share of the other classes' examples to it.");
}

const char* kStyle = R"(
body{font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #d8dce4;padding-bottom:4px;margin-top:28px}
.meta{color:#5b6475;margin:0 0 12px}.note{color:#5b6475;margin:4px 0 10px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d8dce4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8;font-weight:600}table.tests{font-size:12px;width:100%}table.tests td:first-child{word-break:break-word;max-width:300px}table.tests td:nth-child(3){font-family:'DejaVu Sans Mono',monospace;font-size:11px}.tests td.status{font-weight:600}
tr.passed td.status{color:#18794e}tr.failed td.status{color:#c62828}tr.skipped td.status{color:#8a6d00}
td.ok{color:#18794e}.weak{font-size:11px;background:#fff3cd;color:#7a5b00;padding:0 4px;border-radius:3px}td.weakv{color:#7a5b00}td.miss{color:#c62828;font-weight:600}.muted{color:#8a93a3}
pre{white-space:pre-wrap;margin:0;font-size:12px;color:#7a1f1f}
.verdict{font-size:16px;font-weight:600}.verdict.good{color:#18794e}.verdict.bad{color:#c62828}
.grid{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#5b6475}
svg .axis{stroke:#55606f}svg .grid{stroke:#e6e9ef}svg .tick{font-size:11px;fill:#55606f}svg .label{font-size:12px;fill:#1d2330}
svg .bar{fill:#5b8def}svg .bar-acc{fill:#2f4b8f}svg .whisker{stroke:#1d2330;stroke-width:1.5}
svg polyline{stroke-width:2}svg .top{stroke:#d1452f;fill:#d1452f}svg .bottom{stroke:#2f7dd1;fill:#2f7dd1}
svg .random{stroke:#6b7280;fill:#6b7280}svg .probe{stroke:#7b3fb5;fill:#7b3fb5}svg polyline.top,svg polyline.bottom,svg polyline.random,svg polyline.probe{fill:none}
svg .band{fill:#9ca3af;opacity:.35;stroke:none}svg .baseline{stroke:#1d2330;stroke-dasharray:4 3}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:14px;height:4px;margin-right:4px;vertical-align:middle}
.legend i.top{background:#d1452f}.legend i.random{background:#9ca3af;height:10px}.legend i.bottom{background:#2f7dd1}.legend i.baseline{border-top:2px dashed #1d2330;height:0}
.heatmap td{text-align:right;min-width:80px}.heatmap td.own{outline:2px solid #1d2330;outline-offset:-2px}
)";

}  // namespace

std::string RenderHtmlReport(const json& report) {
  const json& model = At(report, "model");
  const json& data = At(report, "data");
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Synapse robustness report</title>"
    << "<meta name='viewport' content='width=device-width,initial-scale=1'><style>" << kStyle
    << "</style></head><body>";
  h << "<h1>Synapse robustness report</h1><p class='meta'>model <b>" << Escape(Str(At(model, "path"))) << "</b> · "
    << Fixed(Num(At(model, "parameters"), 0) / 1e6, 2) << " M parameters · " << At(model, "layers").size()
    << " layers · data " << Escape(Str(At(data, "path"))) << " (" << Num(At(data, "examples"), 0) << " examples";
  const json& support = At(data, "support");
  if (support.is_object()) {
    h << ":";
    for (const auto& [name, n] : support.items()) h << " " << Escape(name) << " " << n.dump();
  }
  h << ")</p>";
  const json& tests = At(report, "tests");
  if (tests.is_array()) h << Section("tests", "Test verdicts", TestsSection(tests));
  if (At(report, "baseline").is_null()) {
    h << "<p class='note'>No query ran: nothing was measured.</p>";
  } else {
    const json& layers = At(report, "layers");
    h << BaselineSection(report) << ProbeSection(layers) << AblationSection(layers, report)
      << HeatmapSection(layers, report) << NoiseSection(layers) << LogitSection(report) << WeightSection(report);
  }
  const json& env = At(report, "environment");
  h << "<p class='meta'>Synapse " << Escape(Str(At(env, "synapse_version"))) << " · LibTorch "
    << Escape(Str(At(env, "libtorch_version"))) << " · report schema " << Num(At(report, "schema_version"), 0)
    << "</p></body></html>\n";
  return h.str();
}

}  // namespace synapse
