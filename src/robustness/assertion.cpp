#include "synapse/robustness/assertion.h"

#include <cmath>

#include "json_reader.h"
#include "synapse/robustness/model_under_test.h"

namespace synapse::robustness {
namespace {

using nlohmann::json;

Selection SelectionOf(const QuerySpec& q) {
  if (q.selection == "bottom") return BottomK(q.k);
  if (q.selection == "random") return RandomK(q.k).Seeds(q.seeds);
  if (q.selection == "neurons") return NeuronSet(q.neurons);
  Selection s = TopK(q.k);
  return q.intervention == "ablate" && !q.of_class.empty() ? s.OfClass(q.of_class) : s;
}

}  // namespace

Query QueryOf(ModelUnderTest& model, const QuerySpec& q) {
  if (q.intervention == "ablate") {
    Query query = model.Ablate(SelectionOf(q)).AtLayer(q.layer);
    if (q.pooled_only) query = query.PooledOnly();
    if (q.to_mean) query = query.ToMean();
    return query;
  }
  if (q.intervention == "noise") {
    Query query = model.Noise(q.amount).AtLayer(q.layer).Seeds(q.seeds);
    return q.pooled_only ? query.PooledOnly() : query;
  }
  if (q.intervention == "logit_shift") return model.LogitShift(q.amount);
  if (q.intervention == "head_weight_scale") return model.HeadWeightScale(q.of_class, SelectionOf(q), q.amount);
  return model.Baseline();
}

Verdict RunAssertion(ModelUnderTest& model, const Assertion& a) {
  const QuerySpec& q = a.query;
  Verdict v = q.intervention == "probe" ? Evaluate(a.check, model.Probe(q.layer).outcome())
                                        : Evaluate(a.check, QueryOf(model, q).outcome());
  v.known_weakness = a.known_weakness;
  return v;
}

Assertion ParseAssertion(const json& o, const std::string& file, const std::string& where) {
  internal::JsonReader r(file);
  r.Keys(o, where,
         {"name", "metric", "threshold", "confidence", "class", "share", "intervention", "selection", "of_class", "k",
          "neurons", "seeds", "layer", "positions", "value", "sigma", "budget", "factor", "known_weakness"});
  Assertion a;
  a.name = r.String(o, where, "name", "");
  for (char c : a.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      r.Fail(internal::JsonReader::Join(where, "name"), "\"" + a.name + "\": use letters, digits and underscores");
    }
  }
  const std::string metric = r.String(o, where, "metric");
  if (!ParseMetric(metric, &a.check.metric)) {
    r.Fail(internal::JsonReader::Join(where, "metric"),
           "\"" + metric +
               "\" is not a metric (accuracy, accuracy_drop, recall, flip_rate, no_label_flips_under_logit_shift, "
               "min_flip_budget, probe_accuracy, hurts_more_than_random, class_asymmetry)");
  }
  const Metric m = a.check.metric;
  auto path = [&](const char* key) { return internal::JsonReader::Join(where, key); };
  auto forbid = [&](const char* key, const std::string& why) {
    if (o.contains(key)) r.Fail(path(key), "not used " + why);
  };
  if (m == Metric::kHurtsMoreThanRandom) {
    forbid("threshold", "by hurts_more_than_random (it tests the excess drop against 0)");
  } else {
    a.check.threshold = r.Number(o, where, "threshold");
  }
  // "none" opts an assertion out of the spec-wide confidence: its estimate is tested.
  if (o.contains("confidence") && o["confidence"].is_string()) {
    if (o["confidence"].get<std::string>() != "none") {
      r.Fail(path("confidence"), "expected a number in (0, 1) or \"none\"");
    }
    a.check.confidence = 0;
  } else {
    a.check.confidence = r.Number(o, where, "confidence", 0);
    if (o.contains("confidence") && !(a.check.confidence > 0 && a.check.confidence < 1)) {
      r.Fail(path("confidence"), "expected a number in (0, 1) or \"none\"");
    }
  }
  if (m == Metric::kRecall)
    a.check.class_name = r.String(o, where, "class");
  else
    forbid("class", "by " + metric + " (only recall reads a class)");
  if (m == Metric::kMinFlipBudget) {
    a.check.share = r.Number(o, where, "share", 0);
    if (!(a.check.share >= 0 && a.check.share < 1)) r.Fail(path("share"), "expected a number in [0, 1)");
  } else {
    forbid("share", "by " + metric + " (only min_flip_budget reads a share)");
  }
  a.known_weakness = r.Boolean(o, where, "known_weakness", false);

  QuerySpec& q = a.query;
  q.intervention =
      r.Choice(o, where, "intervention", {"none", "ablate", "noise", "logit_shift", "head_weight_scale", "probe"},
               m == Metric::kProbeAccuracy ? "probe" : "none");
  if ((m == Metric::kProbeAccuracy) != (q.intervention == "probe")) {
    r.Fail(path("intervention"), "probe_accuracy goes with the probe intervention, and only it");
  }
  const std::string& iv = q.intervention;
  const std::string by = "by intervention " + iv;
  const bool selects = iv == "ablate" || iv == "head_weight_scale";
  if (selects) {
    q.selection = r.Choice(o, where, "selection", {"top", "bottom", "random", "neurons"}, "top");
    if (q.selection == "neurons") {
      forbid("k", "with selection neurons (the list gives k)");
      const json& list = r.Array(o, where, "neurons");
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_number_integer())
          r.Fail(internal::JsonReader::Index(path("neurons"), i), "expected an integer");
        q.neurons.push_back(list[i].get<int64_t>());
      }
    } else {
      forbid("neurons", "with selection " + q.selection);
      q.k = r.Integer(o, where, "k");
    }
  } else {
    for (const char* key : {"selection", "k", "neurons"}) forbid(key, by);
  }
  if (iv == "ablate") {
    q.of_class = r.String(o, where, "of_class", "");
    if (!q.of_class.empty() && q.selection != "top")
      r.Fail(path("of_class"), "only selection top has a per-class ranking");
    q.to_mean = r.Choice(o, where, "value", {"zero", "mean"}, "zero") == "mean";
  } else if (iv == "head_weight_scale") {
    q.of_class = r.String(o, where, "of_class");
    forbid("value", by);
  } else {
    forbid("of_class", by);
    forbid("value", by);
  }
  if (iv == "ablate" || iv == "noise") {
    q.pooled_only = r.Choice(o, where, "positions", {"all", "pooled"}, "all") == "pooled";
  } else {
    forbid("positions", by);
  }
  if (iv == "ablate" || iv == "noise" || iv == "probe") {
    q.layer = static_cast<int>(r.Integer(o, where, "layer", -1));
  } else {
    forbid("layer", by);
  }
  const bool draws = (selects && q.selection == "random") || iv == "noise";
  if (draws) {
    q.seeds = static_cast<int>(r.Integer(o, where, "seeds", 1));
    if (q.seeds < 1) r.Fail(path("seeds"), "expected at least 1");
  } else {
    forbid("seeds", selects ? "with selection " + q.selection : by);
  }
  auto amount = [&](const char* key, bool needed) {
    if (needed) {
      q.amount = r.Number(o, where, key);
      if (!std::isfinite(q.amount)) r.Fail(path(key), "expected a finite number");
    } else {
      forbid(key, by);
    }
  };
  amount("sigma", iv == "noise");
  amount("budget", iv == "logit_shift");
  amount("factor", iv == "head_weight_scale");
  if ((iv == "noise" || iv == "logit_shift") && q.amount < 0) {
    r.Fail(path(iv == "noise" ? "sigma" : "budget"), "expected a number ≥ 0");
  }
  return a;
}

}  // namespace synapse::robustness
