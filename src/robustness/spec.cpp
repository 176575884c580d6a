#include "synapse/robustness/spec.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "util/json_error_text.h"
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

namespace {

// Reads a suite spec's sections into assertions, one method per section.
class SuiteSpecReader {
 public:
  SuiteSpecReader(const json& spec, const std::string& path) : json_(spec), r_(path) {
    std::set<std::string> keys = kConfigKeys;
    keys.insert(
        {"confidence", "baseline", "hurts_more_than_random", "class_asymmetry", "logit_flip_budget", "weight_space"});
    r_.Keys(json_, "", keys);
    spec_.path = path;
    confidence_ = ReadConfig(r_, json_, &spec_.config);
  }

  Spec Read() {
    if (json_.contains("baseline")) Baseline(json_["baseline"]);
    if (json_.contains("hurts_more_than_random")) HurtsMoreThanRandom(r_.Array(json_, "", "hurts_more_than_random"));
    if (json_.contains("class_asymmetry")) ClassAsymmetry(r_.Array(json_, "", "class_asymmetry"));
    if (json_.contains("logit_flip_budget")) LogitFlipBudget(json_["logit_flip_budget"]);
    if (json_.contains("weight_space")) WeightSpace(r_.Array(json_, "", "weight_space"));
    if (spec_.assertions.empty()) {
      r_.Fail("",
              "no checks: add baseline, hurts_more_than_random, class_asymmetry, logit_flip_budget or weight_space");
    }
    return std::move(spec_);
  }

 private:
  void Add(const std::string& name, QuerySpec query, Check check, const std::string& where) {
    Assertion a;
    a.name = Sanitize(name);
    a.query = std::move(query);
    a.check = std::move(check);
    a.check.confidence = confidence_;
    AddUnique(r_, &spec_, std::move(a), where);
  }

  static QuerySpec AblateTop(int64_t layer, int64_t k, const std::string& of_class) {
    QuerySpec q;
    q.intervention = "ablate";
    q.layer = static_cast<int>(layer);
    q.k = k;
    q.of_class = of_class;
    return q;
  }

  void Baseline(const json& b) {
    r_.Keys(b, "baseline", {"accuracy_at_least", "recall_at_least"});
    if (b.contains("accuracy_at_least")) {
      Add("baseline_accuracy", {}, CheckOf(Metric::kAccuracy, r_.Number(b, "baseline", "accuracy_at_least")),
          "baseline");
    }
    if (b.contains("recall_at_least")) {
      const json& recall = b["recall_at_least"];
      if (!recall.is_object()) r_.Fail("baseline.recall_at_least", "expected an object of class name → number");
      for (const auto& [name, v] : recall.items()) {
        if (!v.is_number()) r_.Fail("baseline.recall_at_least." + name, "expected a number");
        Add("baseline_recall_" + name, {}, CheckOf(Metric::kRecall, v.get<double>(), name), "baseline.recall_at_least");
      }
    }
  }

  void HurtsMoreThanRandom(const json& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("hurts_more_than_random", i);
      r_.Keys(list[i], where, {"layer", "k"});
      const int64_t layer = r_.Integer(list[i], where, "layer"), k = r_.Integer(list[i], where, "k");
      Add("layer_" + LayerName(layer) + "_top" + std::to_string(k) + "_hurts_more_than_random", AblateTop(layer, k, ""),
          CheckOf(Metric::kHurtsMoreThanRandom), where);
    }
  }

  void ClassAsymmetry(const json& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("class_asymmetry", i);
      r_.Keys(list[i], where, {"layer", "k", "at_most", "classes"});
      const int64_t layer = r_.Integer(list[i], where, "layer"), k = r_.Integer(list[i], where, "k");
      const Check check = CheckOf(Metric::kClassAsymmetry, r_.Number(list[i], where, "at_most"));
      const std::string stem = "layer_" + LayerName(layer) + "_top" + std::to_string(k);
      if (!list[i].contains("classes")) {
        // The global top-k: the largest class drop minus the smallest.
        Add(stem + "_class_asymmetry", AblateTop(layer, k, ""), check, where);
        continue;
      }
      const json& classes = r_.Array(list[i], where, "classes");
      for (size_t j = 0; j < classes.size(); ++j) {
        if (!classes[j].is_string()) r_.Fail(JsonReader::Index(where + ".classes", j), "expected a class name");
        const std::string c = classes[j].get<std::string>();
        Add(stem + "_class_" + c + "_asymmetry", AblateTop(layer, k, c), check, where);
      }
    }
  }

  void LogitFlipBudget(const json& b) {
    r_.Keys(b, "logit_flip_budget", {"at_least", "share"});
    Check check = CheckOf(Metric::kMinFlipBudget, r_.Number(b, "logit_flip_budget", "at_least"));
    check.share = r_.Number(b, "logit_flip_budget", "share", 0);
    if (!(check.share >= 0 && check.share < 1)) r_.Fail("logit_flip_budget.share", "expected a number in [0, 1)");
    Add("logit_flip_budget", {}, check, "logit_flip_budget");
  }

  void WeightSpace(const json& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = JsonReader::Index("weight_space", i);
      r_.Keys(list[i], where, {"class", "k", "factor", "flip_rate_at_most"});
      QuerySpec q;
      q.intervention = "head_weight_scale";
      q.of_class = r_.String(list[i], where, "class");
      q.k = r_.Integer(list[i], where, "k");
      q.amount = r_.Number(list[i], where, "factor");
      Add("weight_space_" + q.of_class + "_top" + std::to_string(q.k) + "_x" + FactorName(q.amount), q,
          CheckOf(Metric::kFlipRate, r_.Number(list[i], where, "flip_rate_at_most")), where);
    }
  }

  const json& json_;
  JsonReader r_;
  Spec spec_;
  double confidence_ = 0;
};

}  // namespace

Spec ParseSuiteSpec(const json& json_spec, const std::string& path) { return SuiteSpecReader(json_spec, path).Read(); }

Spec LoadSuiteSpec(const std::string& path) { return ParseSuiteSpec(ReadFile(path), path); }

}  // namespace synapse::robustness
