#include "synapse/compare.h"

#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "util/number_text.h"
#include "report/report_json.h"
#include "synapse/error.h"
#include "synapse/stats.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;

// A metric as one report measured it.
struct Measured {
  double value = 0;
  int64_t successes = -1;  // −1: no counts
  int64_t n = 0;
  std::string bits;  // correct_bits, when paired tests are possible
};

void AddRate(std::map<std::string, Measured>* out, const std::string& key, const json& metrics) {
  if (!metrics.is_object() || !metrics.contains("correct") || !metrics.contains("n")) return;
  Measured m;
  m.successes = metrics["correct"].get<int64_t>();
  m.n = metrics["n"].get<int64_t>();
  m.value = m.n > 0 ? static_cast<double>(m.successes) / static_cast<double>(m.n) : std::nan("");
  m.bits = metrics.value("correct_bits", "");
  (*out)[key] = m;
}

std::string ExperimentKey(const json& layer, const json& e) {
  std::ostringstream k;
  k << "layer " << layer.value("index", -1) << " (" << layer.value("name", "?") << ") ";
  const std::string selection = e.value("selection", "?");
  k << selection;
  if (selection == "noise")
    k << " sigma=" << Shortest(e.value("sigma", 0.0));
  else
    k << " k=" << e.value("k", int64_t{0});
  if (e.contains("class")) k << " of " << e["class"].get<std::string>();
  if (e.value("positions", "all") == "pooled") k << " pooled";
  if (e.value("op", "zero") == "mean") k << " to-mean";
  if (e.contains("draws")) k << " draws=" << e["draws"].get<int64_t>();
  k << " accuracy";
  return k.str();
}

std::map<std::string, Measured> Collect(const json& r, const char* which) {
  if (!r.is_object() || !r.contains("baseline") || !r["baseline"].is_object()) {
    throw DataError(210, std::string(which) +
                             " report: no \"baseline\" (is it a report.json of synapse analyze, "
                             "gate or a robustness test run?)");
  }
  std::map<std::string, Measured> out;
  const json& base = r["baseline"];
  AddRate(&out, "baseline accuracy", base);
  const json& support = r.contains("data") ? r["data"].value("support", json::object()) : json::object();
  if (base.contains("recall") && base["recall"].is_object()) {
    for (const auto& [name, recall] : base["recall"].items()) {
      if (!recall.is_number() || !support.contains(name)) continue;
      Measured m;
      m.n = support[name].get<int64_t>();
      m.successes = std::llround(recall.get<double>() * static_cast<double>(m.n));
      m.value = recall.get<double>();
      out["baseline recall[" + name + "]"] = m;
    }
  }
  for (const json& layer : r.value("layers", json::array())) {
    if (layer.contains("probe") && layer["probe"].is_object()) {
      const json& p = layer["probe"];
      if (p.contains("test_accuracy") && p["test_accuracy"].is_number()) {
        Measured m;
        m.n = p.value("test_size", int64_t{0});
        m.value = p["test_accuracy"].get<double>();
        m.successes = std::llround(m.value * static_cast<double>(m.n));
        out["probe layer " + std::to_string(layer.value("index", -1)) + " (" + layer.value("name", "?") +
            ") accuracy"] = m;
      }
    }
    for (const json& e : layer.value("experiments", json::array())) {
      AddRate(&out, ExperimentKey(layer, e), e.value("metrics", json()));
    }
  }
  if (r.contains("logit_space") && r["logit_space"].contains("budget_flipping")) {
    for (const auto& [share, budget] : r["logit_space"]["budget_flipping"].items()) {
      if (!budget.is_number()) continue;
      Measured m;
      m.value = budget.get<double>();
      out["logit budget flipping " + Shortest(std::stod(share) * 100) + "%"] = m;
    }
  }
  return out;
}

std::string Verdict(const MetricComparison& m) {
  if (m.regression) return "REGRESSION";
  if (m.improvement) return "improved";
  if (m.test == "none") return m.delta == 0 ? "same" : "changed (untested)";
  return m.delta == 0 ? "same" : "within noise";
}

std::string Explain(const MetricComparison& m, const CompareOptions& o) {
  std::ostringstream s;
  s << m.key << ": " << Fixed(m.baseline) << " -> " << Fixed(m.current) << " (" << (m.delta >= 0 ? "+" : "")
    << Fixed(m.delta) << "; tolerance " << Shortest(o.tolerance()) << ")";
  if (m.test == "mcnemar") {
    s << ", McNemar's exact test on the same " << m.current_n << " examples: " << m.lost << " lost, " << m.gained
      << " gained, p = " << std::setprecision(3) << m.p;
  } else if (m.test == "two-proportion") {
    s << ", two-proportion test (n " << m.baseline_n << " / " << m.current_n << "): p = " << std::setprecision(3)
      << m.p;
  }
  return s.str();
}

std::string Joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

std::vector<std::string> ClassNames(const json& r) {
  std::vector<std::string> names;
  const json& data = r.value("data", json::object());
  for (const json& c : data.value("classes", json::array()))
    names.push_back(c.is_string() ? c.get<std::string>() : c.dump());
  return names;
}

std::vector<std::string> LayerNames(const json& r) {
  std::vector<std::string> names;
  const json& model = r.value("model", json::object());
  for (const json& l : model.value("layers", json::array())) names.push_back(l.value("name", "?"));
  return names;
}

std::string Text(const json& j) { return j.is_string() ? j.get<std::string>() : j.is_null() ? "" : j.dump(); }

const json& Section(const json& r, const char* key) {
  static const json empty = json::object();
  return r.contains(key) && r[key].is_object() ? r[key] : empty;
}

// How the examples differ, or "" when they are the same (or a report does not say).
std::string ExamplesDifference(const json& a, const json& b) {
  const json &da = Section(a, "data"), &db = Section(b, "data");
  const std::string hash_a = Text(da.value("examples_hash", json())), hash_b = Text(db.value("examples_hash", json()));
  const json &na = da.value("examples", json()), &nb = db.value("examples", json());
  const bool counts = na.is_number_integer() && nb.is_number_integer();
  const bool hashes = !hash_a.empty() && !hash_b.empty();
  if (!(hashes && hash_a != hash_b) && !(counts && na != nb)) return "";
  std::string why = "the examples differ (";
  if (counts) {
    why += na == nb ? na.dump() + " each, other rows or labels" : na.dump() + " / " + nb.dump() + " examples";
  } else {
    why += "other rows or labels";
  }
  const std::string path_a = Text(da.value("path", json())), path_b = Text(db.value("path", json()));
  if (!path_a.empty() && !path_b.empty() && path_a != path_b) why += "; " + path_a + " / " + path_b;
  return why + "; data.examples_hash)";
}

// The option names whose values differ (what makes the experiments, hence the metrics, differ).
std::vector<std::string> DifferentOptions(const json& a, const json& b) {
  const json &oa = Section(a, "options"), &ob = Section(b, "options");
  std::vector<std::string> keys;
  for (const auto& [key, value] : oa.items()) {
    if (!ob.contains(key) || ob[key] != value) keys.push_back(key);
  }
  for (const auto& [key, value] : ob.items()) {
    if (!oa.contains(key)) keys.push_back(key);
  }
  return keys;
}

// What differs between the two reports that decides how far their metrics can be matched
// and tested: the class names, the examples and the layers always; with unmatched metrics
// also the options and the models, as their likely cause.
std::vector<std::string> Differences(const json& a, const json& b, bool unmatched) {
  std::vector<std::string> why;
  const std::vector<std::string> ca = ClassNames(a), cb = ClassNames(b);
  if (ca != cb) why.push_back("the class names differ (" + Joined(ca) + " / " + Joined(cb) + ")");
  const std::string examples = ExamplesDifference(a, b);
  if (!examples.empty()) why.push_back(examples);
  const std::vector<std::string> la = LayerNames(a), lb = LayerNames(b);
  if (la != lb) {
    why.push_back("the models' layers differ (" + std::to_string(la.size()) + ": " + Joined(la) + " / " +
                  std::to_string(lb.size()) + ": " + Joined(lb) + ")");
  }
  if (!unmatched) return why;
  const std::vector<std::string> options = DifferentOptions(a, b);
  if (!options.empty()) why.push_back("the options differ (" + Joined(options) + ")");
  const std::string hash_a = Text(Section(a, "model").value("parameter_hash", json()));
  const std::string hash_b = Text(Section(b, "model").value("parameter_hash", json()));
  if (!why.empty() && !hash_a.empty() && !hash_b.empty() && hash_a != hash_b) {
    why.push_back("the model weights differ too (model.parameter_hash " + hash_a + " / " + hash_b + ")");
  }
  if (why.empty()) why.push_back("the reports ran different experiments");
  return why;
}

}  // namespace

Comparison CompareReports(const json& baseline, const json& current, const CompareOptions& o) {
  const std::map<std::string, Measured> a = Collect(baseline, "the baseline"), b = Collect(current, "the current");
  Comparison c;
  const std::string hash_a = baseline.contains("data") ? baseline["data"].value("examples_hash", "") : "";
  const std::string hash_b = current.contains("data") ? current["data"].value("examples_hash", "") : "";
  c.same_examples = !hash_a.empty() && hash_a == hash_b;
  for (const auto& [key, m] : a) {
    auto it = b.find(key);
    if (it == b.end()) {
      c.only_in_baseline.push_back(key);
      continue;
    }
    const Measured& n = it->second;
    MetricComparison mc;
    mc.key = key;
    mc.baseline = m.value;
    mc.current = n.value;
    mc.delta = n.value - m.value;
    mc.baseline_n = m.n;
    mc.current_n = n.n;
    if (m.successes >= 0 && n.successes >= 0) {
      if (c.same_examples && !m.bits.empty() && !n.bits.empty() && m.n == n.n) {
        const std::vector<uint8_t> x = BitsFromBase64(m.bits, static_cast<size_t>(m.n));
        const std::vector<uint8_t> y = BitsFromBase64(n.bits, static_cast<size_t>(n.n));
        for (size_t i = 0; i < x.size(); ++i) {
          mc.lost += x[i] && !y[i];
          mc.gained += !x[i] && y[i];
        }
        mc.p = McNemarExactP(mc.lost, mc.gained);
        mc.test = "mcnemar";
      } else {
        mc.p = TwoProportionP(m.successes, m.n, n.successes, n.n);
        mc.test = "two-proportion";
      }
      mc.regression = mc.delta < -o.tolerance() && mc.p < o.alpha();
      mc.improvement = mc.delta > o.tolerance() && mc.p < o.alpha();
    } else {
      mc.test = "none";
      mc.p = std::nan("");
    }
    c.regressions += mc.regression;
    c.improvements += mc.improvement;
    c.metrics.push_back(mc);
  }
  for (const auto& [key, m] : b) {
    if (!a.count(key)) c.only_in_current.push_back(key);
  }
  const bool unmatched = !c.only_in_baseline.empty() || !c.only_in_current.empty();
  c.differences = Differences(baseline, current, unmatched);
  c.mismatch = ClassNames(baseline) != ClassNames(current) || 2 * c.only_in_baseline.size() > a.size();
  if (c.metrics.empty()) {
    throw DataError(211, "compare: the two reports have no metric in common (" + Joined(c.differences) + ")");
  }
  return c;
}

std::string ComparisonMarkdown(const Comparison& c, const CompareOptions& o, bool all) {
  std::ostringstream s;
  s << "### Synapse robustness: "
    << (c.regressions ? "**" + std::to_string(c.regressions) + " regression(s)**" : std::string("no regression"))
    << "\n\n"
    << c.metrics.size() << " metrics compared"
    << (c.same_examples ? " on the same examples (McNemar's exact test)" : " (two-proportion tests)") << "; "
    << c.improvements << " improved; tolerance " << Shortest(o.tolerance()) << ", α " << Shortest(o.alpha()) << ".\n\n";
  if (!c.differences.empty()) {
    s << "**Warning:** ";
    for (size_t i = 0; i < c.differences.size(); ++i) s << (i ? "; " : "") << c.differences[i];
    s << (c.mismatch ? ": most metrics cannot be matched" : "") << ".\n\n";
  }
  s << "| metric | baseline | current | Δ | p | verdict |\n|---|---:|---:|---:|---:|---|\n";
  int shown = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (const MetricComparison& m : c.metrics) {
      const bool show = pass == 0 ? m.regression : pass == 1 ? m.improvement : all && !m.regression && !m.improvement;
      if (!show) continue;
      ++shown;
      s << "| " << m.key << " | " << Fixed(m.baseline) << " | " << Fixed(m.current) << " | "
        << (m.delta >= 0 ? "+" : "") << Fixed(m.delta) << " | " << (std::isfinite(m.p) ? Fixed(m.p, 4) : "–") << " | "
        << Verdict(m) << " |\n";
    }
  }
  if (shown == 0) s << "| (no change beyond the tolerance) | | | | | |\n";
  if (!c.only_in_baseline.empty() || !c.only_in_current.empty()) {
    s << "\n"
      << c.only_in_baseline.size() << " metrics only in the baseline, " << c.only_in_current.size()
      << " only in the current report.\n";
  }
  return s.str();
}

json ComparisonTests(const Comparison& c, const CompareOptions& o) {
  json tests = json::array();
  for (const MetricComparison& m : c.metrics) {
    json t;
    t["suite"] = "compare";
    t["name"] = m.key;
    t["time_s"] = 0.0;
    t["status"] = m.regression ? "failed" : "passed";
    t["failures"] = json::array();
    if (m.regression) t["failures"].push_back("regression: " + Explain(m, o));
    t["properties"] = {{"baseline", Shortest(m.baseline)},
                       {"current", Shortest(m.current)},
                       {"delta", Shortest(m.delta)},
                       {"test", m.test},
                       {"p", std::isfinite(m.p) ? Shortest(m.p) : ""},
                       {"verdict", Verdict(m)}};
    tests.push_back(t);
  }
  return tests;
}

}  // namespace synapse
