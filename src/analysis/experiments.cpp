#include "synapse/experiments.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/batching.h"
#include "synapse/error.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"

namespace synapse {

Metrics Score(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
              const std::vector<int64_t>& base_predictions, int64_t num_classes, double confidence) {
  if (predictions.size() != labels.size() || predictions.size() != base_predictions.size()) {
    throw DataError(209, "scoring: " + std::to_string(predictions.size()) + " predictions, " +
                             std::to_string(labels.size()) + " labels and " + std::to_string(base_predictions.size()) +
                             " baseline predictions");
  }
  Metrics m;
  const size_t classes = static_cast<size_t>(std::max<int64_t>(num_classes, 0));
  m.support.assign(classes, 0);
  std::vector<int64_t> hits(classes, 0);
  m.correct_each.assign(predictions.size(), 0);
  for (size_t i = 0; i < predictions.size(); ++i) {
    const bool flipped = predictions[i] != base_predictions[i];
    m.flips += flipped;
    const int64_t y = labels[i];
    if (y < 0) continue;
    m.correct_each[i] = predictions[i] == y;
    if (y >= num_classes) {
      throw DataError(209, "scoring: label " + std::to_string(y) + " of example " + std::to_string(i) +
                               " is not below the class count " + std::to_string(num_classes));
    }
    ++m.n;
    const bool right = predictions[i] == y, right_before = base_predictions[i] == y;
    m.correct += right;
    ++m.support[static_cast<size_t>(y)];
    hits[static_cast<size_t>(y)] += right;
    m.lost += right_before && !right;
    m.gained += !right_before && right;
  }
  m.accuracy = m.n > 0 ? static_cast<double>(m.correct) / static_cast<double>(m.n) : std::nan("");
  m.accuracy_ci = WilsonInterval(m.correct, m.n, confidence);
  for (size_t c = 0; c < classes; ++c) {
    m.recall.push_back(m.support[c] > 0 ? static_cast<double>(hits[c]) / static_cast<double>(m.support[c])
                                        : std::nan(""));
    m.recall_ci.push_back(WilsonInterval(hits[c], m.support[c], confidence));
  }
  const int64_t total = static_cast<int64_t>(predictions.size());
  m.flip_rate = total > 0 ? static_cast<double>(m.flips) / static_cast<double>(total) : 0;
  m.flip_rate_ci = WilsonInterval(m.flips, total, confidence);
  m.mcnemar_p = McNemarExactP(m.lost, m.gained);
  return m;
}

namespace {

// RunPlans over `examples`, whose example i is `ids[i]` of the set (noise is keyed by it);
// null `ids`: i itself.
std::vector<Eigen::MatrixXf> RunBatches(const Model& model, const std::vector<Example>& examples,
                                        const std::vector<int64_t>* ids, const std::vector<Plan>& plans,
                                        const BatchOptions& options, const ProgressCallback& progress) {
  std::vector<Eigen::MatrixXf> out(plans.size());
  const int64_t n = static_cast<int64_t>(examples.size());
  const int64_t total = n * static_cast<int64_t>(plans.size());
  if (plans.size() > 1) {
    CheckMemoryBudget(EstimateSweepMemory(model, examples, options, plans), options.memory_budget(), "the sweep");
  }
  int64_t done = 0;
  for (const std::vector<int64_t>& batch : LengthSortedBatches(examples, options.batch_size())) {
    const std::vector<Example> inputs = Gather(examples, batch);
    std::vector<int64_t> keys = batch;
    if (ids) {
      for (size_t k = 0; k < batch.size(); ++k) keys[k] = (*ids)[static_cast<size_t>(batch[k])];
    }
    RunOptions run;
    run.pool(options.pool()).pad_id(options.pad_id()).seed(options.seed()).example_indices(keys);
    auto store = [&](size_t p, const RunResult& result) {
      if (out[p].size() == 0) out[p].resize(n, result.logits.cols());
      for (size_t k = 0; k < batch.size(); ++k) out[p].row(batch[k]) = result.logits.row(static_cast<Eigen::Index>(k));
      done += static_cast<int64_t>(batch.size());
      if (progress) progress(done, total);
    };
    if (options.suffix_execution()) {
      const std::vector<RunResult> results = model.RunEach(inputs, plans, run, options.suffix_cache().get());
      for (size_t p = 0; p < plans.size(); ++p) store(p, results[p]);
    } else {
      for (size_t p = 0; p < plans.size(); ++p) store(p, model.Run(inputs, plans[p], run));
    }
  }
  return out;
}

}  // namespace

std::vector<Eigen::MatrixXf> RunPlans(const Model& model, const std::vector<Example>& examples,
                                      const std::vector<Plan>& plans, const BatchOptions& options,
                                      const ProgressCallback& progress) {
  if (plans.empty()) return std::vector<Eigen::MatrixXf>();
  if (examples.empty()) throw DataError(207, "sweep: no examples");
  return RunBatches(model, examples, nullptr, plans, options, progress);
}

std::vector<Eigen::MatrixXf> RunPlansOn(const Model& model, const std::vector<Example>& examples,
                                        const std::vector<int64_t>& indices, const std::vector<Plan>& plans,
                                        const BatchOptions& options) {
  if (plans.empty() || indices.empty()) return std::vector<Eigen::MatrixXf>(plans.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= static_cast<int64_t>(examples.size())) {
      throw DataError(207, "sweep: example " + std::to_string(i) + " is not in the set");
    }
  }
  return RunBatches(model, Gather(examples, indices), &indices, plans, options, {});
}

FlipBudgets ComputeFlipBudgets(const Eigen::MatrixXf& logits) {
  FlipBudgets out;
  out.min_flip.resize(logits.rows());
  out.to_class.resize(logits.rows(), logits.cols());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    Eigen::Index top = 0;
    const double best = logits.row(r).maxCoeff(&top);
    double nearest = std::numeric_limits<double>::infinity();
    for (Eigen::Index c = 0; c < logits.cols(); ++c) {
      const double half_gap = (best - static_cast<double>(logits(r, c))) / 2;
      out.to_class(r, c) = half_gap;
      if (c != top) nearest = std::min(nearest, half_gap);
    }
    out.min_flip(r) = nearest;
  }
  return out;
}

ClassificationHead FindClassificationHead(const Model& model, const std::string& weight) {
  const int64_t classes = model.num_classes();
  const auto parameters = model.parameters();
  auto shape_of = [&](const std::string& name) -> const std::vector<int64_t>* {
    for (const auto& p : parameters) {
      if (p.first == name) return &p.second;
    }
    return nullptr;
  };
  auto bias_for = [&](const std::string& w) {
    const std::string b = w.substr(0, w.size() - std::string("weight").size()) + "bias";
    const std::vector<int64_t>* shape = shape_of(b);
    return shape != nullptr && shape->size() == 1 && (*shape)[0] == classes ? b : std::string();
  };
  auto ends_with_weight = [](const std::string& name) {
    return name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
  };
  if (!weight.empty()) {
    const std::vector<int64_t>* shape = shape_of(weight);
    if (shape == nullptr) throw ModelError(108, model.path() + ": no parameter named \"" + weight + "\"");
    if (shape->size() != 2 || (*shape)[0] != classes) {
      throw ModelError(108, model.path() + ": parameter \"" + weight +
                                "\" is not a classification head: expected "
                                "shape [" +
                                std::to_string(classes) + ", inputs]");
    }
    return {weight, ends_with_weight(weight) ? bias_for(weight) : std::string(), (*shape)[1]};
  }
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const auto& [name, shape] = *it;
    if (ends_with_weight(name) && shape.size() == 2 && shape[0] == classes) return {name, bias_for(name), shape[1]};
  }
  throw ModelError(108, model.path() + ": no parameter of shape [" + std::to_string(classes) +
                            ", inputs] named *.weight: name the classification head's weight (--head)");
}

double BudgetFlipping(std::vector<double> min_flip, double share) {
  std::sort(min_flip.begin(), min_flip.end());
  const size_t n = min_flip.size();
  size_t rank = static_cast<size_t>(std::ceil(share * static_cast<double>(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return min_flip[rank - 1];
}

// Neuron-level statistics over the evaluation set, for mean ablation and relative noise.

NeuronStats ComputeNeuronStats(const Eigen::MatrixXf& x) {
  NeuronStats s;
  const Eigen::RowVectorXd mean = x.cast<double>().colwise().mean();
  const Eigen::MatrixXd centred = x.cast<double>().rowwise() - mean;
  const Eigen::RowVectorXd var = centred.array().square().colwise().mean();
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    s.mean.push_back(static_cast<float>(mean(j)));
    s.stddev.push_back(static_cast<float>(std::sqrt(var(j))));
  }
  return s;
}

Metrics PoolMetrics(const std::vector<Metrics>& runs, int64_t examples_per_run, double confidence) {
  Metrics pooled;
  if (runs.empty()) return pooled;
  const size_t classes = runs.front().support.size();
  pooled.support.assign(classes, 0);
  std::vector<int64_t> hits(classes, 0);
  for (const Metrics& m : runs) {
    pooled.correct_each.insert(pooled.correct_each.end(), m.correct_each.begin(), m.correct_each.end());
    pooled.n += m.n;
    pooled.correct += m.correct;
    pooled.flips += m.flips;
    pooled.lost += m.lost;
    pooled.gained += m.gained;
    for (size_t c = 0; c < classes; ++c) {
      pooled.support[c] += m.support[c];
      if (m.support[c] > 0) hits[c] += std::llround(m.recall[c] * static_cast<double>(m.support[c]));
    }
  }
  const double n = static_cast<double>(pooled.n);
  pooled.accuracy = pooled.n > 0 ? static_cast<double>(pooled.correct) / n : std::nan("");
  pooled.accuracy_ci = WilsonInterval(pooled.correct, pooled.n, confidence);
  for (size_t c = 0; c < classes; ++c) {
    pooled.recall.push_back(
        pooled.support[c] > 0 ? static_cast<double>(hits[c]) / static_cast<double>(pooled.support[c]) : std::nan(""));
    pooled.recall_ci.push_back(WilsonInterval(hits[c], pooled.support[c], confidence));
  }
  // Flips count every example, labelled or not.
  const int64_t examples = examples_per_run * static_cast<int64_t>(runs.size());
  pooled.flip_rate = examples > 0 ? static_cast<double>(pooled.flips) / static_cast<double>(examples) : 0;
  pooled.flip_rate_ci = WilsonInterval(pooled.flips, examples, confidence);
  pooled.mcnemar_p = McNemarExactP(pooled.lost, pooled.gained);
  return pooled;
}

}  // namespace synapse
