#include "synapse/testing/suite.h"

#include <fstream>
#include <set>
#include <sstream>

#include "synapse/error.h"
#include "synapse/testing/matchers.h"

namespace synapse::testing {
namespace {

using nlohmann::json;

// Reads a spec strictly: unknown keys and wrong types are errors naming the JSON path.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& where, const std::string& what) const {
    throw UsageError(404, path_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  void Keys(const json& object, const std::string& where, const std::set<std::string>& allowed) const {
    if (!object.is_object()) Fail(where, "expected an object");
    for (const auto& [key, value] : object.items()) {
      if (allowed.count(key) == 0) {
        std::string list;
        for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Fail(Join(where, key), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  double Number(const json& object, const std::string& where, const char* key, bool required = true,
                double fallback = 0) const {
    if (!object.contains(key)) {
      if (required) Fail(Join(where, key), "missing (a number)");
      return fallback;
    }
    if (!object[key].is_number()) Fail(Join(where, key), "expected a number");
    return object[key].get<double>();
  }

  int64_t Integer(const json& object, const std::string& where, const char* key) const {
    if (!object.contains(key)) Fail(Join(where, key), "missing (an integer)");
    if (!object[key].is_number_integer()) Fail(Join(where, key), "expected an integer");
    return object[key].get<int64_t>();
  }

  std::string String(const json& object, const std::string& where, const char* key, bool required = true) const {
    if (!object.contains(key)) {
      if (required) Fail(Join(where, key), "missing (a string)");
      return "";
    }
    if (!object[key].is_string()) Fail(Join(where, key), "expected a string");
    return object[key].get<std::string>();
  }

  const json& Array(const json& object, const std::string& where, const char* key) const {
    if (!object[key].is_array()) Fail(Join(where, key), "expected an array");
    return object[key];
  }

  static std::string Join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string Index(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }

  // A path relative to the spec's directory.
  std::string Path(const std::string& p) const {
    if (p.empty() || p[0] == '/') return p;
    const size_t slash = path_.rfind('/');
    return slash == std::string::npos ? p : path_.substr(0, slash + 1) + p;
  }

 private:
  std::string path_;
};

std::string LayerName(int64_t layer) { return layer < 0 ? "m" + std::to_string(-layer) : std::to_string(layer); }

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string FactorName(double f) {
  std::ostringstream s;
  s << f;
  return Sanitize(s.str());
}

}  // namespace

std::vector<SuiteCheck> ParseSuiteSpec(const json& spec, const std::string& path) {
  Reader r(path);
  r.Keys(spec, "",
         {"model", "data", "tokenizer", "labels", "seed", "max_examples", "layers", "random_seeds", "confidence",
          "baseline", "hurts_more_than_random", "class_asymmetry", "logit_flip_budget", "weight_space"});
  Config config;
  config.model(r.Path(r.String(spec, "", "model", false)))
      .data(r.Path(r.String(spec, "", "data", false)))
      .tokenizer(r.Path(r.String(spec, "", "tokenizer", false)))
      .labels(r.Path(r.String(spec, "", "labels", false)));
  if (spec.contains("seed")) config.seed(static_cast<uint64_t>(r.Integer(spec, "", "seed")));
  if (spec.contains("max_examples")) config.max_examples(r.Integer(spec, "", "max_examples"));
  if (spec.contains("random_seeds")) config.random_seeds(static_cast<int>(r.Integer(spec, "", "random_seeds")));
  if (spec.contains("layers")) {
    std::vector<int> layers;
    const json& a = r.Array(spec, "", "layers");
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_number_integer()) r.Fail(Reader::Index("layers", i), "expected an integer");
      layers.push_back(a[i].get<int>());
    }
    config.layers(layers);
  }
  const double confidence = r.Number(spec, "", "confidence", false, 0);
  if (spec.contains("confidence") && !(confidence > 0 && confidence < 1))
    r.Fail("confidence", "expected a number in (0, 1)");
  if (confidence > 0) config.confidence(confidence);

  std::vector<SuiteCheck> checks;
  auto add = [&](std::string name, std::string kind, json params) {
    SuiteCheck c;
    c.name = Sanitize(name);
    c.kind = std::move(kind);
    c.params = std::move(params);
    c.config = config;
    c.confidence = confidence;
    for (const SuiteCheck& other : checks) {
      if (other.name == c.name) r.Fail("", "two checks are both named " + c.name + "; remove the duplicate");
    }
    checks.push_back(std::move(c));
  };

  if (spec.contains("baseline")) {
    const json& b = spec["baseline"];
    r.Keys(b, "baseline", {"accuracy_at_least", "recall_at_least"});
    if (b.contains("accuracy_at_least")) {
      add("baseline_accuracy", "baseline_accuracy", {{"at_least", r.Number(b, "baseline", "accuracy_at_least")}});
    }
    if (b.contains("recall_at_least")) {
      const json& rec = b["recall_at_least"];
      if (!rec.is_object()) r.Fail("baseline.recall_at_least", "expected an object of class name → number");
      for (const auto& [name, v] : rec.items()) {
        if (!v.is_number()) r.Fail("baseline.recall_at_least." + name, "expected a number");
        add("baseline_recall_" + name, "baseline_recall", {{"class", name}, {"at_least", v.get<double>()}});
      }
    }
  }
  if (spec.contains("hurts_more_than_random")) {
    const json& a = r.Array(spec, "", "hurts_more_than_random");
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string where = Reader::Index("hurts_more_than_random", i);
      r.Keys(a[i], where, {"layer", "k"});
      const int64_t layer = r.Integer(a[i], where, "layer"), k = r.Integer(a[i], where, "k");
      add("layer_" + LayerName(layer) + "_top" + std::to_string(k) + "_hurts_more_than_random",
          "hurts_more_than_random", {{"layer", layer}, {"k", k}});
    }
  }
  if (spec.contains("class_asymmetry")) {
    const json& a = r.Array(spec, "", "class_asymmetry");
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string where = Reader::Index("class_asymmetry", i);
      r.Keys(a[i], where, {"layer", "k", "at_most", "classes"});
      const int64_t layer = r.Integer(a[i], where, "layer"), k = r.Integer(a[i], where, "k");
      const double at_most = r.Number(a[i], where, "at_most");
      // One test per class; the class names are known once the model loads, so the spec
      // lists them (or the check covers the labels file's classes at run time).
      std::vector<std::string> classes;
      if (a[i].contains("classes")) {
        const json& cl = r.Array(a[i], where, "classes");
        for (size_t j = 0; j < cl.size(); ++j) {
          if (!cl[j].is_string()) r.Fail(Reader::Index(where + ".classes", j), "expected a class name");
          classes.push_back(cl[j].get<std::string>());
        }
      }
      if (classes.empty()) {
        add("layer_" + LayerName(layer) + "_top" + std::to_string(k) + "_class_asymmetry", "class_asymmetry",
            {{"layer", layer}, {"k", k}, {"at_most", at_most}});
      }
      for (const std::string& c : classes) {
        add("layer_" + LayerName(layer) + "_top" + std::to_string(k) + "_class_" + c + "_asymmetry", "class_asymmetry",
            {{"layer", layer}, {"k", k}, {"at_most", at_most}, {"class", c}});
      }
    }
  }
  if (spec.contains("logit_flip_budget")) {
    const json& b = spec["logit_flip_budget"];
    r.Keys(b, "logit_flip_budget", {"at_least", "share"});
    const double share = r.Number(b, "logit_flip_budget", "share", false, 0);
    if (!(share >= 0 && share < 1)) r.Fail("logit_flip_budget.share", "expected a number in [0, 1)");
    add("logit_flip_budget", "logit_flip_budget",
        {{"at_least", r.Number(b, "logit_flip_budget", "at_least")}, {"share", share}});
  }
  if (spec.contains("weight_space")) {
    const json& a = r.Array(spec, "", "weight_space");
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string where = Reader::Index("weight_space", i);
      r.Keys(a[i], where, {"class", "k", "factor", "flip_rate_at_most"});
      const std::string cls = r.String(a[i], where, "class");
      const int64_t k = r.Integer(a[i], where, "k");
      const double factor = r.Number(a[i], where, "factor");
      add("weight_space_" + cls + "_top" + std::to_string(k) + "_x" + FactorName(factor), "weight_space",
          {{"class", cls},
           {"k", k},
           {"factor", factor},
           {"flip_rate_at_most", r.Number(a[i], where, "flip_rate_at_most")}});
    }
  }
  if (checks.empty())
    r.Fail("",
           "no checks: add baseline, hurts_more_than_random, class_asymmetry, "
           "logit_flip_budget or weight_space");
  return checks;
}

std::vector<SuiteCheck> LoadSuiteChecks(const std::string& path) {
  try {
    std::ifstream in(path);
    if (!in) throw UsageError(404, path + ": cannot open the robustness spec");
    json spec;
    try {
      spec = json::parse(in);
    } catch (const json::parse_error& e) {
      throw UsageError(404, path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    }
    return ParseSuiteSpec(spec, path);
  } catch (const std::exception& e) {
    SuiteCheck bad;
    bad.name = "invalid_spec";
    bad.kind = "invalid_spec";
    bad.error = e.what();
    return {bad};
  }
}

void PrintTo(const SuiteCheck& check, std::ostream* os) { *os << check.name; }

namespace internal {

std::string SuiteCheckName(const ::testing::TestParamInfo<SuiteCheck>& info) { return info.param.name; }

void SuiteTest::SetUp() {
  if (GetParam().kind == "invalid_spec") GTEST_FAIL() << GetParam().error;
  RobustnessTest::SetUp();
}

void SuiteTest::RunCheck(const SuiteCheck& c) {
  if (c.kind == "invalid_spec") return;  // failed in SetUp
  const json& p = c.params;
  const double conf = c.confidence;
  auto threshold = [&](CheckMatcher m) { return conf > 0 ? m.WithConfidence(conf) : m; };
  if (c.kind == "baseline_accuracy") {
    EXPECT_THAT(Baseline(), threshold(AccuracyAtLeast(p["at_least"])));
  } else if (c.kind == "baseline_recall") {
    EXPECT_THAT(Baseline(), threshold(ClassRecallAtLeast(p["class"].get<std::string>(), p["at_least"].get<double>())));
  } else if (c.kind == "hurts_more_than_random") {
    EXPECT_THAT(Ablate(TopK(p["k"].get<int64_t>())).AtLayer(p["layer"].get<int>()),
                HurtsMoreThanRandom().WithConfidence(conf > 0 ? conf : 0.95));
  } else if (c.kind == "class_asymmetry") {
    std::vector<std::string> classes;
    if (p.contains("class"))
      classes.push_back(p["class"]);
    else
      classes = model().class_names();
    for (const std::string& cls : classes) {
      CheckMatcher m = ClassAsymmetryAtMost(p["at_most"]);
      EXPECT_THAT(Ablate(TopK(p["k"].get<int64_t>()).OfClass(cls)).AtLayer(p["layer"].get<int>()),
                  conf > 0 ? m.WithConfidence(conf) : m);
    }
  } else if (c.kind == "logit_flip_budget") {
    const double share = p["share"];
    CheckMatcher m = MinFlipBudgetAtLeast(p["at_least"]);
    EXPECT_THAT(Baseline(), share > 0 ? m.ForShare(share) : m);
  } else if (c.kind == "weight_space") {
    EXPECT_THAT(HeadWeightScale(p["class"].get<std::string>(), TopK(p["k"].get<int64_t>()), p["factor"].get<double>()),
                threshold(FlipRateAtMost(p["flip_rate_at_most"])));
  } else {
    GTEST_FAIL() << "unknown check kind " << c.kind;
  }
}

}  // namespace internal
}  // namespace synapse::testing
