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

namespace {

// Reads one assertion object: its name and check, then its query (each key checked against
// the metric and intervention that would read it).
class AssertionReader {
 public:
  AssertionReader(const json& o, const std::string& file, const std::string& where) : o_(o), r_(file), where_(where) {}

  Assertion Read() {
    r_.Keys(o_, where_,
            {"name", "metric", "threshold", "confidence", "class", "share", "intervention", "selection", "of_class",
             "k", "neurons", "seeds", "layer", "positions", "value", "sigma", "budget", "factor", "known_weakness"});
    Assertion a;
    a.name = r_.String(o_, where_, "name", "");
    for (char c : a.name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        r_.Fail(Path("name"), "\"" + a.name + "\": use letters, digits and underscores");
      }
    }
    ReadCheck(&a.check);
    a.known_weakness = r_.Boolean(o_, where_, "known_weakness", false);
    ReadQuery(a.check.metric, &a.query);
    return a;
  }

 private:
  std::string Path(const char* key) const { return internal::JsonReader::Join(where_, key); }
  void Forbid(const char* key, const std::string& why) const {
    if (o_.contains(key)) r_.Fail(Path(key), "not used " + why);
  }

  void ReadCheck(Check* check) {
    const std::string metric = r_.String(o_, where_, "metric");
    if (!ParseMetric(metric, &check->metric)) {
      r_.Fail(Path("metric"),
              "\"" + metric +
                  "\" is not a metric (accuracy, accuracy_drop, recall, flip_rate, no_label_flips_under_logit_shift, "
                  "min_flip_budget, probe_accuracy, hurts_more_than_random, class_asymmetry)");
    }
    const Metric m = check->metric;
    if (m == Metric::kHurtsMoreThanRandom) {
      Forbid("threshold", "by hurts_more_than_random (it tests the excess drop against 0)");
    } else {
      check->threshold = r_.Number(o_, where_, "threshold");
    }
    // "none" opts an assertion out of the spec-wide confidence: its estimate is tested.
    if (o_.contains("confidence") && o_["confidence"].is_string()) {
      if (o_["confidence"].get<std::string>() != "none") {
        r_.Fail(Path("confidence"), "expected a number in (0, 1) or \"none\"");
      }
      check->confidence = 0;
    } else {
      check->confidence = r_.Number(o_, where_, "confidence", 0);
      if (o_.contains("confidence") && !(check->confidence > 0 && check->confidence < 1)) {
        r_.Fail(Path("confidence"), "expected a number in (0, 1) or \"none\"");
      }
    }
    if (m == Metric::kRecall) {
      check->class_name = r_.String(o_, where_, "class");
    } else {
      Forbid("class", "by " + metric + " (only recall reads a class)");
    }
    if (m == Metric::kMinFlipBudget) {
      check->share = r_.Number(o_, where_, "share", 0);
      if (!(check->share >= 0 && check->share < 1)) r_.Fail(Path("share"), "expected a number in [0, 1)");
    } else {
      Forbid("share", "by " + metric + " (only min_flip_budget reads a share)");
    }
  }

  void ReadQuery(Metric m, QuerySpec* query) {
    QuerySpec& q = *query;
    q.intervention =
        r_.Choice(o_, where_, "intervention", {"none", "ablate", "noise", "logit_shift", "head_weight_scale", "probe"},
                  m == Metric::kProbeAccuracy ? "probe" : "none");
    if ((m == Metric::kProbeAccuracy) != (q.intervention == "probe")) {
      r_.Fail(Path("intervention"), "probe_accuracy goes with the probe intervention, and only it");
    }
    const std::string& iv = q.intervention;
    const std::string by = "by intervention " + iv;
    const bool selects = iv == "ablate" || iv == "head_weight_scale";
    if (selects) {
      ReadSelection(&q);
    } else {
      for (const char* key : {"selection", "k", "neurons"}) Forbid(key, by);
    }
    if (iv == "ablate") {
      q.of_class = r_.String(o_, where_, "of_class", "");
      if (!q.of_class.empty() && q.selection != "top") {
        r_.Fail(Path("of_class"), "only selection top has a per-class ranking");
      }
      q.to_mean = r_.Choice(o_, where_, "value", {"zero", "mean"}, "zero") == "mean";
    } else if (iv == "head_weight_scale") {
      q.of_class = r_.String(o_, where_, "of_class");
      Forbid("value", by);
    } else {
      Forbid("of_class", by);
      Forbid("value", by);
    }
    if (iv == "ablate" || iv == "noise") {
      q.pooled_only = r_.Choice(o_, where_, "positions", {"all", "pooled"}, "all") == "pooled";
    } else {
      Forbid("positions", by);
    }
    if (iv == "ablate" || iv == "noise" || iv == "probe") {
      q.layer = static_cast<int>(r_.Integer(o_, where_, "layer", -1));
    } else {
      Forbid("layer", by);
    }
    const bool draws = (selects && q.selection == "random") || iv == "noise";
    if (draws) {
      q.seeds = static_cast<int>(r_.Integer(o_, where_, "seeds", 1));
      if (q.seeds < 1) r_.Fail(Path("seeds"), "expected at least 1");
    } else {
      Forbid("seeds", selects ? "with selection " + q.selection : by);
    }
    ReadAmount(&q, "sigma", iv == "noise", by);
    ReadAmount(&q, "budget", iv == "logit_shift", by);
    ReadAmount(&q, "factor", iv == "head_weight_scale", by);
    if ((iv == "noise" || iv == "logit_shift") && q.amount < 0) {
      r_.Fail(Path(iv == "noise" ? "sigma" : "budget"), "expected a number ≥ 0");
    }
  }

  // selection and k, or an explicit neuron list.
  void ReadSelection(QuerySpec* q) {
    q->selection = r_.Choice(o_, where_, "selection", {"top", "bottom", "random", "neurons"}, "top");
    if (q->selection == "neurons") {
      Forbid("k", "with selection neurons (the list gives k)");
      const json& list = r_.Array(o_, where_, "neurons");
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_number_integer())
          r_.Fail(internal::JsonReader::Index(Path("neurons"), i), "expected an integer");
        q->neurons.push_back(list[i].get<int64_t>());
      }
    } else {
      Forbid("neurons", "with selection " + q->selection);
      q->k = r_.Integer(o_, where_, "k");
    }
  }

  void ReadAmount(QuerySpec* q, const char* key, bool needed, const std::string& by) {
    if (needed) {
      q->amount = r_.Number(o_, where_, key);
      if (!std::isfinite(q->amount)) r_.Fail(Path(key), "expected a finite number");
    } else {
      Forbid(key, by);
    }
  }

  const json& o_;
  internal::JsonReader r_;
  const std::string where_;
};

}  // namespace

Assertion ParseAssertion(const json& o, const std::string& file, const std::string& where) {
  return AssertionReader(o, file, where).Read();
}

}  // namespace synapse::robustness
