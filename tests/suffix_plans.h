// The plans suffix execution is checked with, and the check: shared by the fixture models'
// test and the real `transformers` families' test.
#ifndef SYNAPSE_TESTS_SUFFIX_PLANS_H_
#define SYNAPSE_TESTS_SUFFIX_PLANS_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synapse/synapse.h"

namespace synapse::test {

// Every intervention kind at every layer, alone; the composed plans of the oracle's cases;
// captures; plans that start at different layers in one call.
inline std::vector<std::vector<Intervention>> AllPlans(const Model& model, Pooling pool) {
  std::vector<std::vector<Intervention>> plans;
  const int n = static_cast<int>(model.layers().size());
  const int64_t width = model.layers().front().hidden_size;
  std::vector<float> means(static_cast<size_t>(width)), sigmas(static_cast<size_t>(width));
  for (int64_t j = 0; j < width; ++j) {
    means[static_cast<size_t>(j)] = 0.01f * static_cast<float>(j) - 0.1f;
    sigmas[static_cast<size_t>(j)] = 0.2f + 0.01f * static_cast<float>(j);
  }
  plans.push_back({});
  std::vector<float> shift(static_cast<size_t>(model.num_classes()), 0.f);
  shift[0] = 0.75f;
  plans.push_back({Intervention::Shift(shift)});
  for (int l = 0; l < n; ++l) {
    const Site site = Site::Layer(l);
    const bool same_width = model.layers()[static_cast<size_t>(l)].hidden_size == width;
    plans.push_back({Intervention::Zero(site, Neurons::Of({0, 2, 5}))});
    plans.push_back({Intervention::Zero(site, Neurons::All())});
    plans.push_back({Intervention::Scale(site, 2.5, Neurons::Of({1, 2, 3, 4, 5, 6, 7}))});
    plans.push_back({Intervention::Constant(site, -0.5, Neurons::Of({3}))});
    plans.push_back({Intervention::Noise(site, 0.4, Neurons::All())});
    if (same_width) {
      plans.push_back({Intervention::Mean(site, means, Neurons::Of({1, 4}))});
      plans.push_back({Intervention::Noise(site, sigmas)});
    }
    plans.push_back({Intervention::Capture(site)});
    if (pool != Pooling::kMean) {
      Intervention pooled = Intervention::Zero(site, Neurons::Of({0, 1, 2, 3, 4, 5, 6, 7, 8}));
      pooled.positions(Positions::kPooled);
      plans.push_back({pooled});
    }
  }
  plans.push_back({Intervention::Zero(Site::Layer(n - 1), Neurons::Of({1})),
                   Intervention::Scale(Site::Layer(0), 0.5, Neurons::All()), Intervention::Shift(shift)});
  plans.push_back({Intervention::Capture(Site::Layer(0)), Intervention::Zero(Site::Layer(n - 1), Neurons::All())});
  std::vector<Intervention> all_captures;
  for (int l = n - 1; l >= 0; --l) all_captures.push_back(Intervention::Capture(Site::Layer(l)));
  plans.push_back(all_captures);
  plans.push_back({});  // the baseline again, after the others
  return plans;
}

// Every plan of AllPlans through Model::RunEach (suffix execution) against Model::Run (the
// whole forward): logits and captures within `tolerance`.
inline void ExpectSameResults(const Model& model, const std::vector<Example>& batch, const RunOptions& options,
                              float tolerance) {
  const std::vector<std::vector<Intervention>> plans = AllPlans(model, options.pool());
  const std::vector<RunResult> each = model.RunEach(batch, plans, options);
  ASSERT_EQ(each.size(), plans.size());
  for (size_t p = 0; p < plans.size(); ++p) {
    std::string name;
    for (const Intervention& iv : plans[p]) name += iv.ToString() + " ";
    SCOPED_TRACE("plan " + std::to_string(p) + ": " + name);
    const RunResult full = model.Run(batch, plans[p], options);
    ASSERT_EQ(each[p].logits.rows(), full.logits.rows());
    ASSERT_EQ(each[p].logits.cols(), full.logits.cols());
    EXPECT_LE((each[p].logits - full.logits).cwiseAbs().maxCoeff(), tolerance);
    ASSERT_EQ(each[p].captures.size(), full.captures.size());
    for (const auto& [layer, vectors] : full.captures) {
      ASSERT_TRUE(each[p].captures.count(layer)) << "layer " << layer;
      EXPECT_LE((each[p].captures.at(layer) - vectors).cwiseAbs().maxCoeff(), tolerance) << "layer " << layer;
    }
  }
  // The plans do change the logits (the comparison is not between baselines).
  EXPECT_GT((each[2].logits - each[0].logits).cwiseAbs().maxCoeff(), 1e-4f);
}

}  // namespace synapse::test

#endif  // SYNAPSE_TESTS_SUFFIX_PLANS_H_
