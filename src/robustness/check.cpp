#include "synapse/robustness/check.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <vector>

#include "util/number_text.h"
#include "synapse/experiments.h"
#include "synapse/stats.h"

namespace synapse::robustness {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string IntervalText(const Interval& i, double confidence) {
  return "[" + Fixed(i.low) + ", " + Fixed(i.high) + " at " + Percent(confidence) + "]";
}

std::string After(const Outcome& o) { return o.what.empty() ? " with no intervention" : " after " + o.what; }

// Φ(z), the standard normal CDF.
double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

Verdict Start(const Check& c, const Outcome& o) {
  Verdict v;
  v.requirement = Describe(c);
  v.query = o.query;
  v.what = o.what;
  v.metric = MetricName(c.metric);
  v.threshold = c.threshold;
  v.low = v.high = kNaN;
  return v;
}

Verdict Undefined(Verdict v, const std::string& why) {
  v.value = v.tested = kNaN;
  v.passed = false;
  v.explanation = why;
  return v;
}

// Accuracy, its drop, a class's recall or the flip rate against a threshold. One switch
// over the four metrics (about 90 lines): each case is a few lines of the same interval
// arithmetic, which reads best side by side.
Verdict ThresholdVerdict(const Check& c, const Outcome& o) {
  Verdict v = Start(c, o);
  const double level = c.confidence > 0 ? c.confidence : o.confidence;
  const bool at_least = c.metric == Metric::kAccuracy || c.metric == Metric::kRecall;
  const bool bounded = c.confidence > 0;
  v.confidence = level;
  v.comparison = at_least ? ">=" : "<=";
  std::ostringstream why;
  switch (c.metric) {
    case Metric::kAccuracy:
    case Metric::kAccuracyDrop: {
      const Interval ci = o.accuracy.Wilson(level);
      const double base = o.baseline_accuracy.value();
      if (c.metric == Metric::kAccuracy) {
        v.value = o.accuracy.value();
        v.low = ci.low;
        v.high = ci.high;
        v.tested = bounded ? ci.low : v.value;
        why << "whose accuracy is " << Fixed(v.value) << " " << IntervalText(ci, level);
      } else {
        // The baseline is the same model on the same examples: the drop's uncertainty is
        // the perturbed accuracy's.
        v.value = base - o.accuracy.value();
        v.low = base - ci.high;
        v.high = base - ci.low;
        v.tested = bounded ? v.high : v.value;
        why << "whose accuracy dropped by " << Fixed(v.value) << " (at most " << Fixed(v.high) << " at "
            << Percent(level) << ") to " << Fixed(o.accuracy.value());
      }
      why << " on " << o.accuracy.n << " examples" << After(o) << " (baseline " << Fixed(base) << ")";
      break;
    }
    case Metric::kRecall: {
      v.metric = "recall[" + c.class_name + "]";
      auto it = o.recall.find(c.class_name);
      if (it == o.recall.end()) {
        why << "which has no class \"" << c.class_name << "\" (classes:";
        for (const auto& [name, rate] : o.recall) why << " " << name;
        why << ")";
        return Undefined(v, why.str());
      }
      const Interval ci = it->second.Wilson(level);
      v.value = it->second.value();
      v.low = ci.low;
      v.high = ci.high;
      v.tested = bounded ? ci.low : v.value;
      why << "whose recall of class \"" << c.class_name << "\" is " << Fixed(v.value) << " (" << it->second.successes
          << "/" << it->second.n << ") " << IntervalText(ci, level) << After(o);
      auto base = o.baseline_recall.find(c.class_name);
      if (base != o.baseline_recall.end()) why << " (baseline " << Fixed(base->second.value()) << ")";
      break;
    }
    default: {  // kFlipRate
      const Interval ci = o.flips.Wilson(level);
      v.value = o.flips.value();
      v.low = ci.low;
      v.high = ci.high;
      v.tested = bounded ? ci.high : v.value;
      why << "whose flip rate is " << Fixed(v.value) << " (" << o.flips.successes << " of " << o.flips.n
          << " labels changed) " << IntervalText(ci, level) << After(o);
      break;
    }
  }
  if (std::isnan(v.tested)) {
    why << ", which is undefined (no examples)";
    v.passed = false;
  } else {
    v.passed = at_least ? v.tested >= c.threshold : v.tested <= c.threshold;
    if (bounded) {
      why << "; the " << (at_least ? "lower" : "upper") << " bound " << Fixed(v.tested)
          << (v.passed ? " clears " : " misses ") << Fixed(c.threshold);
      // Too few examples for any model to pass: the bound of a perfect score still misses.
      if (!v.passed) {
        const int64_t n = c.metric == Metric::kRecall     ? o.recall.at(c.class_name).n
                          : c.metric == Metric::kFlipRate ? o.flips.n
                                                          : o.accuracy.n;
        double best = 0;
        if (c.metric == Metric::kFlipRate) {
          best = WilsonInterval(0, n, level).high;
        } else if (c.metric == Metric::kAccuracyDrop) {
          best = o.baseline_accuracy.value() - WilsonInterval(n, n, level).low;
        } else {
          best = WilsonInterval(n, n, level).low;
        }
        if (at_least ? best < c.threshold : best > c.threshold) {
          why << "; unreachable with " << n << " examples: the best possible " << (at_least ? "lower" : "upper")
              << " bound is " << Fixed(best);
        }
      }
    }
  }
  v.explanation = why.str();
  return v;
}

Verdict FlipBudget(const Check& c, const Outcome& o) {
  Verdict v = Start(c, o);
  if (o.flip_budget.empty()) {
    return Undefined(v, "which has no per-example flip budgets (outcomes of pooled draws or of a report have none)");
  }
  std::vector<size_t> order(o.flip_budget.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return o.flip_budget[a] < o.flip_budget[b]; });
  const double smallest = o.flip_budget[order.front()];
  std::ostringstream why;
  if (c.metric == Metric::kNoLabelFlipsUnderShift) {
    int64_t flipped = 0;
    for (double b : o.flip_budget) flipped += b <= c.threshold;
    // The budget in the metric's name: the threshold column (== 0) does not show it.
    v.metric = "labels_flipped[budget " + Fixed(c.threshold) + "]";
    v.value = v.tested = static_cast<double>(flipped);
    v.comparison = "==";
    v.threshold = 0;
    v.passed = flipped == 0;
    why << "where " << flipped << " of " << o.flip_budget.size() << " labels flip under a logit change of "
        << Fixed(c.threshold);
    if (flipped > 0) {
      why << ": example";
      const size_t show = std::min<size_t>(static_cast<size_t>(flipped), 5);
      for (size_t i = 0; i < show; ++i) {
        why << (i ? ", " : " ") << order[i] << " (needs " << Fixed(o.flip_budget[order[i]]) << ")";
      }
      if (static_cast<size_t>(flipped) > show) why << ", …";
    } else {
      why << " (the most fragile example needs " << Fixed(smallest) << ")";
    }
  } else {
    v.metric = c.share > 0 ? "flip_budget[" + Percent(c.share) + "]" : "flip_budget";
    v.value = v.tested = c.share > 0 ? BudgetFlipping(o.flip_budget, c.share) : smallest;
    v.comparison = ">=";
    v.passed = v.value >= c.threshold;
    if (c.share > 0) {
      why << "where a logit change of " << Fixed(v.value) << " flips " << Percent(c.share) << " of the "
          << o.flip_budget.size() << " labels";
    } else {
      why << "whose most fragile example (" << order.front() << ") flips under a logit change of " << Fixed(smallest);
    }
  }
  why << After(o);
  v.explanation = why.str();
  return v;
}

Verdict AgainstRandom(const Check& c, const Outcome& o) {
  Verdict v = Start(c, o);
  const double level = c.confidence > 0 ? c.confidence : 0.95;
  v.metric = "excess_drop_over_random";
  v.confidence = level;
  v.comparison = ">";
  v.threshold = 0;
  if (!o.random_control) {
    return Undefined(
        v, "which has no random control: HurtsMoreThanRandom() applies to Ablate(TopK / BottomK / NeuronSet) queries");
  }
  const Outcome control = o.random_control();
  const double acc = o.accuracy.value(), control_acc = control.accuracy.value();
  // Excess drop = (base − acc) − (base − control_acc) = control_acc − acc.
  v.value = control_acc - acc;
  double se = 0;
  const char* test = "";
  if (!o.correct.empty() && o.correct.size() == control.correct.size()) {
    // Paired: the same examples, per-example difference of the control's correct share and
    // this outcome's.
    const double n = static_cast<double>(o.correct.size());
    double mean = 0, sq = 0;
    for (size_t i = 0; i < o.correct.size(); ++i) mean += control.correct[i] - o.correct[i];
    mean /= n;
    for (size_t i = 0; i < o.correct.size(); ++i) {
      const double d = control.correct[i] - o.correct[i] - mean;
      sq += d * d;
    }
    se = n > 1 ? std::sqrt(sq / (n - 1) / n) : 0;
    test = "paired";
  } else {
    // Two proportions on different draws: the pooled standard error.
    se = PooledStandardError(o.accuracy.successes, o.accuracy.n, control.accuracy.successes, control.accuracy.n);
    test = "two-proportion";
  }
  v.low = v.value - NormalQuantile(level) * se;
  v.tested = v.low;
  const double p_value = se > 0 ? 1 - NormalCdf(v.value / se) : (v.value > 0 ? 0.0 : 1.0);
  v.passed = v.value > 0 && (se > 0 ? v.low > 0 : true);
  std::ostringstream why;
  why << "whose accuracy " << Fixed(acc) << After(o) << " is " << Fixed(v.value) << " below the random control's "
      << Fixed(control_acc) << " (" << control.what << "); the excess drop is at least " << Fixed(v.low) << " at "
      << Percent(level) << " (" << test << " one-sided p = " << std::setprecision(2) << p_value << ")"
      << (v.passed ? ", significant" : ", not significant");
  v.explanation = why.str();
  return v;
}

Verdict Asymmetry(const Check& c, const Outcome& o) {
  Verdict v = Start(c, o);
  const double level = c.confidence > 0 ? c.confidence : o.confidence;
  v.confidence = level;
  v.comparison = "<=";
  // Per class: the drop, and its range from the recall's Wilson interval (the baseline is
  // the same model on the same examples).
  struct Drop {
    std::string name;
    double drop, low, high;
  };
  std::vector<Drop> drops;
  for (const auto& [name, rate] : o.recall) {
    auto base = o.baseline_recall.find(name);
    if (rate.n == 0 || base == o.baseline_recall.end() || base->second.n == 0) continue;
    const Interval ci = rate.Wilson(level);
    const double b = base->second.value();
    drops.push_back({name, b - rate.value(), b - ci.high, b - ci.low});
  }
  if (drops.size() < 2) return Undefined(v, "which has fewer than two classes with examples");
  std::ostringstream why;
  if (!o.target_class.empty()) {
    auto own = std::find_if(drops.begin(), drops.end(), [&](const Drop& d) { return d.name == o.target_class; });
    if (own == drops.end()) return Undefined(v, "whose target class \"" + o.target_class + "\" has no examples");
    double others = 0, others_low = 0;
    for (const Drop& d : drops) {
      if (d.name == o.target_class) continue;
      others += d.drop;
      others_low += d.low;
    }
    const double count = static_cast<double>(drops.size() - 1);
    v.value = own->drop - others / count;
    v.high = own->high - others_low / count;
    why << "where class " << o.target_class << "'s recall drops by " << Fixed(own->drop)
        << " and the other classes' by " << Fixed(others / count) << " on average";
  } else {
    auto by_drop = [](const Drop& a, const Drop& b) { return a.drop < b.drop; };
    const Drop& most = *std::max_element(drops.begin(), drops.end(), by_drop);
    const Drop& least = *std::min_element(drops.begin(), drops.end(), by_drop);
    double high_max = -1e300, low_min = 1e300;
    for (const Drop& d : drops) {
      high_max = std::max(high_max, d.high);
      low_min = std::min(low_min, d.low);
    }
    v.value = most.drop - least.drop;
    v.high = high_max - low_min;
    why << "where class " << most.name << "'s recall drops most (" << Fixed(most.drop) << ") and class " << least.name
        << "'s least (" << Fixed(least.drop) << ")";
  }
  v.tested = c.confidence > 0 ? v.high : v.value;
  v.passed = v.tested <= c.threshold;
  why << ": an asymmetry of " << Fixed(v.value) << " (at most " << Fixed(v.high) << " at " << Percent(level) << ")"
      << After(o) << "; drops:";
  for (const Drop& d : drops) why << " " << d.name << " " << Fixed(d.drop);
  if (c.confidence > 0) {
    why << "; the upper bound " << Fixed(v.tested) << (v.passed ? " clears " : " misses ") << Fixed(c.threshold);
  }
  v.explanation = why.str();
  return v;
}

}  // namespace

std::string FailureLine(const Verdict& v) {
  std::string line = v.query.empty() ? "" : v.query + ": ";
  if (v.known_weakness && v.passed) line += "the known weakness is gone: ";
  line += v.explanation;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kAccuracy:
      return "accuracy";
    case Metric::kAccuracyDrop:
      return "accuracy_drop";
    case Metric::kRecall:
      return "recall";
    case Metric::kFlipRate:
      return "flip_rate";
    case Metric::kNoLabelFlipsUnderShift:
      return "no_label_flips_under_logit_shift";
    case Metric::kMinFlipBudget:
      return "min_flip_budget";
    case Metric::kProbeAccuracy:
      return "probe_accuracy";
    case Metric::kHurtsMoreThanRandom:
      return "hurts_more_than_random";
    case Metric::kClassAsymmetry:
      return "class_asymmetry";
  }
  return "?";
}

bool ParseMetric(const std::string& name, Metric* metric) {
  for (Metric m :
       {Metric::kAccuracy, Metric::kAccuracyDrop, Metric::kRecall, Metric::kFlipRate, Metric::kNoLabelFlipsUnderShift,
        Metric::kMinFlipBudget, Metric::kProbeAccuracy, Metric::kHurtsMoreThanRandom, Metric::kClassAsymmetry}) {
    if (name == MetricName(m)) {
      *metric = m;
      return true;
    }
  }
  return false;
}

std::string Describe(const Check& c, bool negated) {
  std::ostringstream s;
  const std::string has = negated ? "doesn't have " : "has ";
  auto bound = [&](bool at_least, const char* which) {
    if (c.confidence > 0) {
      s << " with " << Percent(c.confidence) << " confidence (the " << which << "'s " << (at_least ? "lower" : "upper")
        << " bound)";
    }
  };
  switch (c.metric) {
    case Metric::kAccuracy:
      s << has << "accuracy at least " << Fixed(c.threshold);
      bound(true, "Wilson interval");
      break;
    case Metric::kAccuracyDrop:
      s << has << "an accuracy drop at most " << Fixed(c.threshold);
      bound(false, "Wilson interval");
      break;
    case Metric::kRecall:
      s << has << "recall of class \"" << c.class_name << "\" at least " << Fixed(c.threshold);
      bound(true, "Wilson interval");
      break;
    case Metric::kFlipRate:
      s << has << "a flip rate at most " << Fixed(c.threshold);
      bound(false, "Wilson interval");
      break;
    case Metric::kNoLabelFlipsUnderShift:
      s << (negated ? "has some label that flips" : "has no label that flips") << " under a logit change of "
        << Fixed(c.threshold) << " (L∞)";
      break;
    case Metric::kMinFlipBudget:
      s << (negated ? "doesn't need" : "needs") << " a logit change (L∞) of at least " << Fixed(c.threshold)
        << " to flip ";
      if (c.share > 0)
        s << Percent(c.share) << " of the labels";
      else
        s << "any label";
      break;
    case Metric::kProbeAccuracy:
      s << (negated ? "doesn't have" : "has") << " a probe accuracy of at least " << Fixed(c.threshold);
      bound(true, "Wilson interval");
      break;
    case Metric::kHurtsMoreThanRandom:
      s << (negated ? "doesn't cost" : "costs") << " more accuracy than ablating as many random neurons (one-sided, "
        << Percent(c.confidence > 0 ? c.confidence : 0.95) << " confidence)";
      break;
    case Metric::kClassAsymmetry:
      s << (negated ? "doesn't have" : "has") << " a class asymmetry of recall drops of at most " << Fixed(c.threshold);
      if (c.confidence > 0) s << " with " << Percent(c.confidence) << " confidence (from the Wilson bounds)";
      break;
  }
  return s.str();
}

Verdict Evaluate(const Check& c, const Outcome& o) {
  switch (c.metric) {
    case Metric::kAccuracy:
    case Metric::kAccuracyDrop:
    case Metric::kRecall:
    case Metric::kFlipRate:
      return ThresholdVerdict(c, o);
    case Metric::kNoLabelFlipsUnderShift:
    case Metric::kMinFlipBudget:
      return FlipBudget(c, o);
    case Metric::kHurtsMoreThanRandom:
      return AgainstRandom(c, o);
    case Metric::kClassAsymmetry:
      return Asymmetry(c, o);
    case Metric::kProbeAccuracy:
      break;
  }
  return Undefined(Start(c, o), "which is not a probe: probe_accuracy applies to Probe(layer)");
}

nlohmann::ordered_json VerdictJson(const Verdict& v) {
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(); };
  nlohmann::ordered_json j;
  j["requirement"] = v.requirement;
  j["query"] = v.query;
  j["what"] = v.what;
  j["metric"] = v.metric;
  j["value"] = number(v.value);
  j["interval"] = std::isnan(v.low) && std::isnan(v.high)
                      ? nlohmann::ordered_json()
                      : nlohmann::ordered_json::array({number(v.low), number(v.high)});
  j["confidence"] = number(v.confidence);
  j["tested"] = number(v.tested);
  j["comparison"] = v.comparison;
  j["threshold"] = number(v.threshold);
  j["verdict"] = v.passed ? "match" : "no match";
  j["known_weakness"] = v.known_weakness;
  j["explanation"] = v.explanation;
  return j;
}

std::vector<std::pair<std::string, std::string>> VerdictProperties(const Verdict& v, int index) {
  auto number = [](double x) {
    if (std::isnan(x)) return std::string();
    std::ostringstream s;
    s << std::setprecision(6) << x;
    return s.str();
  };
  const std::string prefix = "synapse." + std::to_string(index) + ".";
  std::vector<std::pair<std::string, std::string>> p;
  p.emplace_back(prefix + "query", v.query.empty() ? v.what : v.query);
  p.emplace_back(prefix + "metric", v.metric);
  p.emplace_back(prefix + "value", number(v.value));
  if (!std::isnan(v.low) || !std::isnan(v.high)) {
    p.emplace_back(prefix + "interval", "[" + number(v.low) + ", " + number(v.high) + "] at " + number(v.confidence));
  }
  p.emplace_back(prefix + "threshold", v.comparison + " " + number(v.threshold));
  const std::string verdict = v.passed ? "match" : "no match";
  p.emplace_back(prefix + "verdict", v.known_weakness ? verdict + " (known weakness)" : verdict);
  return p;
}

Verdict Evaluate(const Check& c, const ProbeOutcome& o) {
  Verdict v;
  v.requirement = Describe(c);
  v.query = o.query;
  v.what = "a linear probe on layer " + std::to_string(o.layer) + " (" + o.layer_name + ")";
  v.metric = MetricName(c.metric);
  v.threshold = c.threshold;
  if (c.metric != Metric::kProbeAccuracy) {
    v.low = v.high = kNaN;
    return Undefined(v, std::string("which is a probe: ") + MetricName(c.metric) + " applies to interventions");
  }
  const double level = c.confidence > 0 ? c.confidence : o.confidence;
  const Interval ci = o.test_accuracy.Wilson(level);
  v.value = o.test_accuracy.value();
  v.low = ci.low;
  v.high = ci.high;
  v.confidence = level;
  v.tested = c.confidence > 0 ? ci.low : v.value;
  v.comparison = ">=";
  v.passed = !std::isnan(v.tested) && v.tested >= c.threshold;
  std::ostringstream why;
  why << "whose probe on layer " << o.layer << " (" << o.layer_name << ") scores " << Fixed(v.value) << " ("
      << o.test_accuracy.successes << "/" << o.test_accuracy.n << " held-out examples) " << IntervalText(ci, level)
      << ", train " << Fixed(o.train_accuracy) << (o.converged ? "" : ", not converged");
  if (c.confidence > 0) {
    why << "; the lower bound " << Fixed(v.tested) << (v.passed ? " clears " : " misses ") << Fixed(c.threshold);
  }
  v.explanation = why.str();
  return v;
}

}  // namespace synapse::robustness
