#include "synapse/robustness/spec.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "json_error_text.h"
#include "json_reader.h"
#include "synapse/error.h"

namespace synapse::robustness {
namespace {

using internal::JsonReader;
using nlohmann::json;

const std::set<std::string> kConfigKeys = {"model",        "data",   "tokenizer",    "labels", "seed",
                                           "max_examples", "layers", "random_seeds", "pad_id"};

// The config keys of a spec; returns the spec-wide confidence (0: none).
double ReadConfig(const JsonReader& r, const json& spec, Config* config) {
  config->model(r.Path(r.String(spec, "", "model", "")))
      .data(r.Path(r.String(spec, "", "data", "")))
      .tokenizer(r.Path(r.String(spec, "", "tokenizer", "")))
      .labels(r.Path(r.String(spec, "", "labels", "")));
  const int64_t seed = r.Integer(spec, "", "seed", 0);
  if (seed < 0) r.Fail("seed", "expected an integer ≥ 0");
  config->seed(static_cast<uint64_t>(seed));
  config->max_examples(r.Integer(spec, "", "max_examples", 0));
  const int64_t pad_id = r.Integer(spec, "", "pad_id", -1);
  if (spec.contains("pad_id") && pad_id < 0) r.Fail("pad_id", "expected an integer ≥ 0");
  config->pad_id(pad_id);
  const int64_t draws = r.Integer(spec, "", "random_seeds", 5);
  if (draws < 1) r.Fail("random_seeds", "expected an integer ≥ 1");
  config->random_seeds(static_cast<int>(draws));
  if (spec.contains("layers")) {
    std::vector<int> layers;
    const json& a = r.Array(spec, "", "layers");
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_number_integer()) r.Fail(JsonReader::Index("layers", i), "expected an integer");
      layers.push_back(a[i].get<int>());
    }
    config->layers(layers);
  }
  const double confidence = r.Number(spec, "", "confidence", 0);
  if (spec.contains("confidence") && !(confidence > 0 && confidence < 1)) {
    r.Fail("confidence", "expected a number in (0, 1)");
  }
  if (confidence > 0) config->confidence(confidence);
  return confidence;
}

json ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(404, path + ": cannot open the spec");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw UsageError(404, path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {
    throw UsageError(404, path + ": not valid JSON: " + JsonErrorText(e));
  }
}

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string LayerName(int64_t layer) { return layer < 0 ? "m" + std::to_string(-layer) : std::to_string(layer); }

std::string FactorName(double f) {
  std::ostringstream s;
  s << f;
  return Sanitize(s.str());
}

Check CheckOf(Metric metric, double threshold = 0, const std::string& class_name = "") {
  Check c;
  c.metric = metric;
  c.threshold = threshold;
  c.class_name = class_name;
  return c;
}

void AddUnique(const JsonReader& r, Spec* spec, Assertion a, const std::string& where) {
  for (const Assertion& other : spec->assertions) {
    if (other.name == a.name) r.Fail(where, "two assertions are both named " + a.name + "; rename one");
  }
  spec->assertions.push_back(std::move(a));
}

}  // namespace

Spec ParseGateSpec(const json& json_spec, const std::string& path) {
  JsonReader r(path);
  std::set<std::string> keys = kConfigKeys;
  keys.insert({"confidence", "assertions"});
  r.Keys(json_spec, "", keys);
  Spec spec;
  spec.path = path;
  const double confidence = ReadConfig(r, json_spec, &spec.config);
  const json& list = r.Array(json_spec, "", "assertions");
  if (list.empty()) r.Fail("assertions", "empty: a gate needs at least one assertion");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = JsonReader::Index("assertions", i);
    Assertion a = ParseAssertion(list[i], path, where);
    if (a.name.empty()) a.name = "a" + std::to_string(i) + "_" + MetricName(a.check.metric);
    if (!list[i].contains("confidence") && confidence > 0) a.check.confidence = confidence;
    AddUnique(r, &spec, std::move(a), where + ".name");
  }
  return spec;
}

Spec LoadGateSpec(const std::string& path) { return ParseGateSpec(ReadFile(path), path); }

Spec ParseSuiteSpec(const json& json_spec, const std::string& path) {
  JsonReader r(path);
  std::set<std::string> keys = kConfigKeys;
  keys.insert(
      {"confidence", "baseline", "hurts_more_than_random", "class_asymmetry", "logit_flip_budget", "weight_space"});
  r.Keys(json_spec, "", keys);
  Spec spec;
  spec.path = path;
  const double confidence = ReadConfig(r, json_spec, &spec.config);
  auto add = [&](const std::string& name, QuerySpec query, Check check, const std::string& where) {
    Assertion a;
    a.name = Sanitize(name);
    a.query = std::move(query);
    a.check = std::move(check);
    a.check.confidence = confidence;
    AddUnique(r, &spec, std::move(a), where);
  };
  auto ablate_top = [](int64_t layer, int64_t k, const std::string& of_class) {
    QuerySpec q;
    q.intervention = "ablate";
    q.layer = static_cast<int>(layer);
    q.k = k;
    q.of_class = of_class;
    return q;
  };
  if (json_spec.contains("baseline")) {
    const json& b = json_spec["baseline"];
    r.Keys(b, "baseline", {"accuracy_at_least", "recall_at_least"});
    if (b.contains("accuracy_at_least")) {
      add("baseline_accuracy", {}, CheckOf(Metric::kAccuracy, r.Number(b, "baseline", "accuracy_at_least")),
          "baseline");
    }
    if (b.contains("recall_at_least")) {
      const json& recall = b["recall_at_least"];
      if (!recall.is_object()) r.Fail("baseline.recall_at_least", "expected an object of class name → number");
      for (const auto& [name, v] : recall.items()) {
        if (!v.is_number()) r.Fail("baseline.recall_at_least." + name, "expected a number");
        add("baseline_recall_" + name, {}, CheckOf(Metric::kRecall, v.get<double>(), name), "baseline.recall_at_least");
      }
    }
  }
  if (json_spec.contains("hurts_more_than_random")) {
    const json& list = r.Array(json_spec, "", "hurts_more_than_random");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("hurts_more_than_random", i);
      r.Keys(list[i], where, {"layer", "k"});
      const int64_t layer = r.Integer(list[i], where, "layer"), k = r.Integer(list[i], where, "k");
      add("layer_" + LayerName(layer) + "_top" + std::to_string(k) + "_hurts_more_than_random",
          ablate_top(layer, k, ""), CheckOf(Metric::kHurtsMoreThanRandom), where);
    }
  }
  if (json_spec.contains("class_asymmetry")) {
    const json& list = r.Array(json_spec, "", "class_asymmetry");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("class_asymmetry", i);
      r.Keys(list[i], where, {"layer", "k", "at_most", "classes"});
      const int64_t layer = r.Integer(list[i], where, "layer"), k = r.Integer(list[i], where, "k");
      const Check check = CheckOf(Metric::kClassAsymmetry, r.Number(list[i], where, "at_most"));
      const std::string stem = "layer_" + LayerName(layer) + "_top" + std::to_string(k);
      if (!list[i].contains("classes")) {
        // The global top-k: the largest class drop minus the smallest.
        add(stem + "_class_asymmetry", ablate_top(layer, k, ""), check, where);
        continue;
      }
      const json& classes = r.Array(list[i], where, "classes");
      for (size_t j = 0; j < classes.size(); ++j) {
        if (!classes[j].is_string()) r.Fail(JsonReader::Index(where + ".classes", j), "expected a class name");
        const std::string c = classes[j].get<std::string>();
        add(stem + "_class_" + c + "_asymmetry", ablate_top(layer, k, c), check, where);
      }
    }
  }
  if (json_spec.contains("logit_flip_budget")) {
    const json& b = json_spec["logit_flip_budget"];
    r.Keys(b, "logit_flip_budget", {"at_least", "share"});
    Check check = CheckOf(Metric::kMinFlipBudget, r.Number(b, "logit_flip_budget", "at_least"));
    check.share = r.Number(b, "logit_flip_budget", "share", 0);
    if (!(check.share >= 0 && check.share < 1)) r.Fail("logit_flip_budget.share", "expected a number in [0, 1)");
    add("logit_flip_budget", {}, check, "logit_flip_budget");
  }
  if (json_spec.contains("weight_space")) {
    const json& list = r.Array(json_spec, "", "weight_space");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("weight_space", i);
      r.Keys(list[i], where, {"class", "k", "factor", "flip_rate_at_most"});
      QuerySpec q;
      q.intervention = "head_weight_scale";
      q.of_class = r.String(list[i], where, "class");
      q.k = r.Integer(list[i], where, "k");
      q.amount = r.Number(list[i], where, "factor");
      add("weight_space_" + q.of_class + "_top" + std::to_string(q.k) + "_x" + FactorName(q.amount), q,
          CheckOf(Metric::kFlipRate, r.Number(list[i], where, "flip_rate_at_most")), where);
    }
  }
  if (spec.assertions.empty()) {
    r.Fail("", "no checks: add baseline, hurts_more_than_random, class_asymmetry, logit_flip_budget or weight_space");
  }
  return spec;
}

Spec LoadSuiteSpec(const std::string& path) { return ParseSuiteSpec(ReadFile(path), path); }

}  // namespace synapse::robustness
