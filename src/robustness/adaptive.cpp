#include "synapse/robustness/adaptive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "util/number_text.h"
#include "report/report_json.h"
#include "util/seeds.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/sequential.h"

namespace synapse::robustness {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Beside the model under test's own seed purposes (4: noise draws, 5: head columns).
constexpr uint64_t kSeedAdaptiveOrder = 6;

// One query's per-example results along the visiting order, as far as read.
struct Stream {
  Query query;
  ExampleOutcomes got;
};

// One sequential check in progress.
struct Sequential {
  size_t item = 0;
  std::string key, paired_key;   // the query, and the baseline or control it is paired with
  int64_t class_index = -1;      // recall
  bool pass_above = true;        // passes when the mean is above the threshold
  double scale = 1, offset = 0;  // the metric is x · scale + offset (paired differences)
  bool finite = false;
  // Population claims: the confidence sequence spends half of 1 − c; the other half is the
  // whole set's fixed-sample test, the full run's own, should the sequence not decide.
  Check final_check;
  std::optional<SequentialTest> test;
  int64_t read = 0;  // positions of the order consumed
  bool done = false;
  std::string stopped;
  double passes = 0;
};

int Draws(const Query& q) {
  switch (q.kind()) {
    case Query::Kind::kAblate:
    case Query::Kind::kHeadWeightScale:
      return q.selection().kind() == Selection::Kind::kRandom ? q.selection().draws() : 1;
    case Query::Kind::kNoise:
      return q.draws();
    default:
      return 1;
  }
}

// The whole set's outcome from a stream that read all of it (in the visiting order), as
// ModelUnderTest::Run measures it: pooled draws count each draw of each example.
Outcome WholeSet(const Stream& stream, const std::vector<std::string>& names, const Outcome* baseline,
                 double confidence) {
  const ExampleOutcomes& got = stream.got;
  const double d = Draws(stream.query);
  const int64_t n = static_cast<int64_t>(got.correct.size());
  Outcome o;
  o.query = stream.query.ToString();
  if (stream.query.kind() != Query::Kind::kBaseline) o.what = o.query;
  o.confidence = confidence;
  double right = 0, flipped = 0;
  std::vector<double> right_of(names.size(), 0.0);
  std::vector<int64_t> count_of(names.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i), c = static_cast<size_t>(got.labels[k]);
    right += got.correct[k];
    flipped += got.flipped[k];
    right_of[c] += got.correct[k];
    ++count_of[c];
  }
  const int64_t draws = static_cast<int64_t>(d);
  o.accuracy = Rate{std::llround(right * d), n * draws};
  o.flips = Rate{std::llround(flipped * d), n * draws};
  for (size_t c = 0; c < names.size(); ++c)
    o.recall[names[c]] = Rate{std::llround(right_of[c] * d), count_of[c] * draws};
  o.correct = got.correct;
  const Outcome& base = baseline ? *baseline : o;
  o.baseline_accuracy = base.accuracy;
  o.baseline_recall = base.recall;
  return o;
}

std::string Phrase(const Check& c) {
  switch (c.metric) {
    case Metric::kAccuracy:
      return "accuracy";
    case Metric::kAccuracyDrop:
      return "accuracy drop";
    case Metric::kRecall:
      return "recall of class \"" + c.class_name + "\"";
    case Metric::kFlipRate:
      return "flip rate";
    default:
      return "excess drop over the random control";
  }
}

}  // namespace

bool IsSequential(Metric m) {
  return m == Metric::kAccuracy || m == Metric::kAccuracyDrop || m == Metric::kRecall || m == Metric::kFlipRate ||
         m == Metric::kHurtsMoreThanRandom;
}

namespace {

// One adaptive run: the sequential checks read examples along one seeded order, in growing
// batches, until each is decided; the others use the whole set.
class AdaptiveRunner {
 public:
  AdaptiveRunner(ModelUnderTest& model, const std::vector<AdaptiveItem>& items, const AdaptiveOptions& options)
      : model_(model),
        items_(items),
        options_(options),
        n_(model.num_examples()),
        labels_(model.labels()),
        order_(RandomOrder(n_, DeriveSeed(options.seed(), {kSeedAdaptiveOrder}))) {}

  AdaptiveRun Run() {
    const double start_passes = model_.passes_spent();
    run_.examples = n_;
    run_.verdicts.resize(items_.size());
    // Rankings, neuron statistics, probes and logit budgets need the whole set's extraction:
    // run it first, so that no batch is run twice.
    bool needs_extraction = false;
    for (const AdaptiveItem& item : items_) {
      needs_extraction |=
          item.probe || !IsSequential(item.check.metric) || item.query->kind() != Query::Kind::kBaseline;
    }
    if (needs_extraction) model_.Baseline().outcome();
    StartSequences();
    ReadUntilDecided();
    for (Sequential& s : states_) SequentialVerdict(s);
    WholeSetVerdicts();
    run_.passes = model_.passes_spent() - start_passes;
    run_.extracted = model_.extracted();
    FullRunCost();
    return std::move(run_);
  }

 private:
  // A confidence sequence per sequential check, with the streams it reads.
  void StartSequences() {
    for (size_t i = 0; i < items_.size(); ++i) {
      const AdaptiveItem& item = items_[i];
      const Check& c = item.check;
      if (item.probe || !IsSequential(c.metric)) continue;
      Sequential s;
      s.item = i;
      s.key = item.query->ToString();
      streams_.emplace(s.key, Stream{*item.query, {}});
      int64_t population = n_;
      double threshold = c.threshold;
      double alpha = 1 - (c.confidence > 0 ? c.confidence : model_.config().confidence());
      s.finite = c.confidence <= 0;
      s.final_check = c;
      switch (c.metric) {
        case Metric::kRecall: {
          const auto& names = model_.class_names();
          auto it = std::find(names.begin(), names.end(), c.class_name);
          if (it == names.end()) continue;  // evaluated on the whole set: an undefined verdict
          s.class_index = it - names.begin();
          population = std::count(labels_.begin(), labels_.end(), s.class_index);
          if (population == 0) continue;
          break;
        }
        case Metric::kFlipRate:
          s.pass_above = false;
          break;
        case Metric::kAccuracyDrop: {
          // Paired with the baseline on the same examples: x = (base − correct + 1) / 2.
          s.pass_above = false;
          const Query base = model_.Baseline();
          s.paired_key = base.ToString();
          streams_.emplace(s.paired_key, Stream{base, {}});
          s.scale = 2;
          s.offset = -1;
          threshold = (threshold + 1) / 2;
          break;
        }
        case Metric::kHurtsMoreThanRandom: {
          // Paired with the random control: x = (control − correct + 1) / 2, above 1/2. A
          // significance test: always about the population, at 95% unless told.
          if (item.query->kind() != Query::Kind::kAblate ||
              item.query->selection().kind() == Selection::Kind::kRandom) {
            continue;  // no control: evaluated on the whole set, an undefined verdict
          }
          const Query control = model_.RandomControlOf(*item.query);
          s.paired_key = control.ToString();
          streams_.emplace(s.paired_key, Stream{control, {}});
          s.scale = 2;
          s.offset = -1;
          threshold = 0.5;
          s.finite = false;
          alpha = 1 - (c.confidence > 0 ? c.confidence : 0.95);
          // The full run's test is one-sided at 1 − c: the final look takes half of it.
          s.final_check.confidence = 1 - alpha / 2;
          break;
        }
        default:
          break;
      }
      // The full run's Wilson bound is the end of a two-sided interval at c: one-sided at
      // (1 − c) / 2, the half the confidence sequence leaves.
      if (!s.finite) alpha /= 2;
      s.test.emplace(
          SequentialOptions(std::clamp(threshold, 0.0, 1.0)).alpha(alpha).population(s.finite ? population : 0));
      states_.push_back(std::move(s));
    }
  }

  // Extends the stream `key` to the first `upto` examples of the order.
  void Extend(const std::string& key, int64_t upto, Sequential& by) {
    Stream& stream = streams_.at(key);
    const int64_t have = static_cast<int64_t>(stream.got.correct.size());
    if (have >= upto) return;
    const std::vector<int64_t> idx(order_.begin() + have, order_.begin() + upto);
    ExampleOutcomes more = model_.RunOn(stream.query, idx);
    by.passes += more.passes;
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(stream.got.correct, more.correct);
    append(stream.got.flipped, more.flipped);
    append(stream.got.labels, more.labels);
  }

  // Feeds one check the examples read so far; false while it is still open.
  bool Look(Sequential& s, int64_t upto) {
    Extend(s.key, upto, s);
    if (!s.paired_key.empty()) Extend(s.paired_key, upto, s);
    const ExampleOutcomes& got = streams_.at(s.key).got;
    const ExampleOutcomes* paired = s.paired_key.empty() ? nullptr : &streams_.at(s.paired_key).got;
    const Metric m = items_[s.item].check.metric;
    for (; s.read < upto && s.test->decision() == SequentialDecision::kUndecided; ++s.read) {
      const size_t p = static_cast<size_t>(s.read);
      switch (m) {
        case Metric::kRecall:
          if (got.labels[p] == s.class_index) s.test->Add(got.correct[p]);
          break;
        case Metric::kFlipRate:
          s.test->Add(got.flipped[p]);
          break;
        case Metric::kAccuracyDrop:
        case Metric::kHurtsMoreThanRandom:
          s.test->Add((paired->correct[p] - got.correct[p] + 1) / 2);
          break;
        default:
          s.test->Add(got.correct[p]);
      }
    }
    if (s.test->decision() != SequentialDecision::kUndecided) {
      s.done = true;
      s.stopped = s.read == n_ ? "whole set" : s.test->certain() ? "certain" : "decided";
    } else if (s.read == n_) {
      s.done = true;
      s.stopped = "whole set";
    }
    return s.done;
  }

  // Growing batches along the order until every sequential check is decided.
  void ReadUntilDecided() {
    int64_t upto = std::min<int64_t>(n_, std::max<int64_t>(1, options_.first_batch()));
    while (!states_.empty()) {
      bool open = false;
      for (Sequential& s : states_) {
        if (!s.done && !Look(s, upto)) open = true;
      }
      if (!open || upto == n_) break;
      upto = std::min(
          n_, std::max(upto + 1, static_cast<int64_t>(std::ceil(static_cast<double>(upto) * options_.growth()))));
    }
  }

  // Every example read and the sequence undecided: the whole set's fixed-sample test (the
  // full run's, with the half of 1 − c the sequence did not spend) decides.
  void WholeSetVerdict(Sequential& s) {
    const AdaptiveItem& item = items_[s.item];
    const SequentialTest& t = *s.test;
    AdaptiveVerdict& out = run_.verdicts[s.item];
    Verdict& v = out.verdict;
    const Stream& own = streams_.at(s.key);
    std::optional<Outcome> baseline;
    if (own.query.kind() != Query::Kind::kBaseline) baseline = model_.Baseline().outcome();
    Outcome whole = WholeSet(own, model_.class_names(), baseline ? &*baseline : nullptr, model_.config().confidence());
    if (item.check.metric == Metric::kHurtsMoreThanRandom) {
      const Outcome control =
          WholeSet(streams_.at(s.paired_key), model_.class_names(), nullptr, model_.config().confidence());
      whole.random_control = [control] { return control; };
    }
    v = Evaluate(s.final_check, whole);
    v.known_weakness = item.known_weakness;
    v.explanation += "; adaptive: the " + Percent(1 - t.options().alpha()) +
                     " confidence sequence was undecided after every example, so the whole set's test decides";
    out.guarantee = "population";
    out.level = v.confidence;
    out.bound = v.tested;
  }

  // The verdict of a sequential check where it stopped.
  void SequentialVerdict(Sequential& s) {
    const AdaptiveItem& item = items_[s.item];
    const Check& c = item.check;
    const SequentialTest& t = *s.test;
    AdaptiveVerdict& out = run_.verdicts[s.item];
    Verdict& v = out.verdict;
    out.examples = s.read;
    out.stopped = s.stopped;
    out.passes = s.passes;
    if (!s.finite && s.stopped == "whole set" && t.decision() == SequentialDecision::kUndecided) {
      WholeSetVerdict(s);
      return;
    }
    v.requirement = Describe(c);
    // The bound tested is the confidence sequence's, not a Wilson interval's.
    const std::string wilson = "the Wilson interval's";
    if (const size_t at = v.requirement.find(wilson); at != std::string::npos) {
      v.requirement.replace(at, wilson.size(), "the confidence sequence's");
    }
    v.query = s.key;
    v.metric = c.metric == Metric::kRecall                ? "recall[" + c.class_name + "]"
               : c.metric == Metric::kHurtsMoreThanRandom ? "excess_drop_over_random"
                                                          : MetricName(c.metric);
    v.threshold = c.metric == Metric::kHurtsMoreThanRandom ? 0 : c.threshold;
    v.comparison = c.metric == Metric::kHurtsMoreThanRandom ? ">" : s.pass_above ? ">=" : "<=";
    v.confidence = 1 - t.options().alpha();
    const double n = static_cast<double>(t.n());
    double low = t.LowerBound(), high = t.UpperBound();
    const int64_t population = t.options().population();
    if (population > 0) {
      // What the rest of the set, all zeros or all ones, allows.
      const double sum = t.mean() * n, rest = static_cast<double>(population) - n;
      low = std::max(low, sum / static_cast<double>(population));
      high = std::min(high, (sum + rest) / static_cast<double>(population));
    }
    auto metric = [&](double x) { return x * s.scale + s.offset; };
    v.value = metric(t.mean());
    v.low = metric(low);
    v.high = metric(high);
    const SequentialDecision d = t.decision();
    if (population > 0 && t.n() == population) {
      // The whole set: its own verdict, equality included.
      const double mean = t.mean(), th = t.options().threshold();
      v.passed = s.pass_above ? mean >= th - 1e-12 : mean <= th + 1e-12;
    } else {
      v.passed = s.pass_above ? d == SequentialDecision::kAbove : d == SequentialDecision::kBelow;
    }
    v.tested = s.pass_above ? v.low : v.high;
    v.known_weakness = item.known_weakness;
    out.guarantee = s.finite ? "whole set" : "population";
    out.level = v.confidence;
    out.bound = d == SequentialDecision::kAbove ? v.low : d == SequentialDecision::kBelow ? v.high : v.tested;
    const std::string phrase = Phrase(c);
    std::ostringstream why;
    why << "whose " << phrase << " is " << Fixed(v.value) << " on the " << out.examples << " of " << n_
        << " examples read";
    if (c.metric == Metric::kRecall) why << " (" << t.n() << " of class " << c.class_name << ")";
    why << "; adaptive: the " << Percent(v.confidence) << " confidence sequence for the "
        << (s.finite ? "whole set's " : "population's ") << phrase << " is [" << Fixed(v.low) << ", " << Fixed(v.high)
        << "]";
    const char* side = s.pass_above ? "lower" : "upper";
    if (s.stopped == "certain") {
      why << "; certain after " << out.examples << ": the rest of the set cannot change the verdict";
    } else if (s.stopped == "whole set" && population > 0) {
      why << "; exact on the whole set";
    } else {
      why << "; its " << side << " bound " << Fixed(v.tested) << (v.passed ? " clears " : " misses ")
          << Fixed(v.threshold);
      why << (s.stopped == "decided" ? " (stopped when decided)" : " (undecided after the whole set)");
    }
    v.explanation = why.str();
  }

  // The checks that need the whole set.
  void WholeSetVerdicts() {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (!run_.verdicts[i].stopped.empty()) continue;
      const AdaptiveItem& item = items_[i];
      const double before = model_.passes_spent();
      AdaptiveVerdict& out = run_.verdicts[i];
      out.verdict =
          item.probe ? Evaluate(item.check, item.probe->outcome()) : Evaluate(item.check, item.query->outcome());
      out.verdict.known_weakness = item.known_weakness;
      out.examples = n_;
      out.stopped = "needs the whole set";
      out.guarantee = item.check.confidence > 0 ? "population" : "whole set";
      out.bound = out.verdict.tested;
      out.level = out.verdict.confidence;
      out.passes = model_.passes_spent() - before;
    }
  }

  // The full run under the same cost model: the extraction, then each distinct query once
  // (and the random controls HurtsMoreThanRandom reads).
  void FullRunCost() {
    std::set<std::string> seen;
    run_.full_passes = static_cast<double>(n_);
    auto full = [&](const Query& q) {
      if (seen.insert(q.ToString()).second) run_.full_passes += static_cast<double>(n_) * model_.PassShare(q);
    };
    for (const AdaptiveItem& item : items_) {
      if (!item.query) continue;
      full(*item.query);
      if (item.check.metric == Metric::kHurtsMoreThanRandom && item.query->kind() == Query::Kind::kAblate &&
          item.query->selection().kind() != Selection::Kind::kRandom) {
        full(model_.RandomControlOf(*item.query));
      }
    }
  }

  ModelUnderTest& model_;
  const std::vector<AdaptiveItem>& items_;
  const AdaptiveOptions& options_;
  const int64_t n_;
  const std::vector<int64_t>& labels_;
  const std::vector<int64_t> order_;
  std::map<std::string, Stream> streams_;
  std::vector<Sequential> states_;
  AdaptiveRun run_;
};

}  // namespace

AdaptiveRun RunAdaptive(ModelUnderTest& model, const std::vector<AdaptiveItem>& items, const AdaptiveOptions& options) {
  return AdaptiveRunner(model, items, options).Run();
}

nlohmann::ordered_json AdaptiveJson(const AdaptiveVerdict& v, int64_t examples) {
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(); };
  nlohmann::ordered_json j;
  j["examples"] = v.examples;
  j["of"] = examples;
  j["stopped"] = v.stopped;
  j["guarantee"] = v.guarantee;
  j["bound"] = number(v.bound);
  j["level"] = number(v.level);
  j["example_passes"] = v.passes;
  return j;
}

}  // namespace synapse::robustness
