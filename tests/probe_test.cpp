// Stratified splits, standardization, OWL-QN probes (checked against their optimality
// conditions, computed here independently) and the neuron rankings read from them.
#include "synapse/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSubsetOf;
using ::testing::UnorderedElementsAre;

// The neurons that carry the class signal in the blobs; every other neuron is noise.
constexpr int64_t kInformative[3] = {4, 11, 17};
constexpr int64_t kWidth = 20;

// A standard normal from the engine's raw output (Box-Muller), so the data are the same on
// every standard library.
double Normal(std::mt19937_64& engine) {
  const double u1 = (static_cast<double>(engine() >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(engine() >> 11) * 0x1.0p-53;        // [0, 1)
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

struct Blobs {
  Eigen::MatrixXf x;
  std::vector<int64_t> labels;
};

// Three Gaussian classes: class c is shifted by `signal` on neuron kInformative[c]. Each
// neuron also gets its own offset and spread, which standardization must undo.
Blobs MakeBlobs(int64_t per_class, uint64_t seed, double signal = 4.0) {
  std::mt19937_64 engine(seed);
  Blobs blobs;
  blobs.x.resize(3 * per_class, kWidth);
  for (int64_t i = 0; i < 3 * per_class; ++i) {
    const int64_t c = i % 3;
    blobs.labels.push_back(c);
    for (int64_t j = 0; j < kWidth; ++j) {
      const double z = Normal(engine) + (j == kInformative[c] ? signal : 0.0);
      blobs.x(i, j) = static_cast<float>(0.5 * static_cast<double>(j) - 3 + (0.5 + 0.1 * static_cast<double>(j)) * z);
    }
  }
  return blobs;
}

bool IsInformative(int64_t j) {
  return std::find(std::begin(kInformative), std::end(kInformative), j) != std::end(kInformative);
}

// The gradient of the smooth part of the objective, (1/n) Σ −log softmax + (l2/2)‖W‖², in W
// and b, written with plain loops to be independent of the solver's matrix code.
struct Gradient {
  Eigen::MatrixXd w;
  Eigen::VectorXd b;
  double loss = 0;  // the mean cross-entropy alone
};

Gradient SmoothGradient(const ProbeFit& probe, const Eigen::MatrixXf& x, const std::vector<int64_t>& labels,
                        const std::vector<int64_t>& rows, double l2) {
  const int64_t classes = probe.weights.rows();
  const int64_t width = probe.weights.cols();
  Gradient g;
  g.w = Eigen::MatrixXd::Zero(classes, width);
  g.b = Eigen::VectorXd::Zero(classes);
  std::vector<double> z(classes), p(classes);
  for (int64_t r : rows) {
    std::vector<double> xs(width);
    for (int64_t j = 0; j < width; ++j) xs[j] = (x(r, j) - probe.standardizer.mean(j)) / probe.standardizer.scale(j);
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) {
      z[c] = probe.intercepts(c);
      for (int64_t j = 0; j < width; ++j) z[c] += probe.weights(c, j) * xs[j];
      top = std::max(top, z[c]);
    }
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - top);
    g.loss += top + std::log(sum) - z[labels[r]];
    for (int64_t c = 0; c < classes; ++c) {
      p[c] = std::exp(z[c] - top) / sum - (c == labels[r] ? 1 : 0);
      g.b(c) += p[c];
      for (int64_t j = 0; j < width; ++j) g.w(c, j) += p[c] * xs[j];
    }
  }
  const double n = static_cast<double>(rows.size());
  g.loss /= n;
  g.b /= n;
  g.w = g.w / n + l2 * probe.weights;
  return g;
}

std::vector<int64_t> Iota(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// ---------------------------------------------------------------- StratifiedSplit

// 50 / 30 / 20 examples of classes 0 / 1 / 2, interleaved.
std::vector<int64_t> UnevenLabels() {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2);
  return labels;
}

std::vector<int64_t> CountByClass(const std::vector<int64_t>& labels, const std::vector<int64_t>& rows) {
  std::vector<int64_t> counts(3, 0);
  for (int64_t r : rows) ++counts[labels[r]];
  return counts;
}

TEST(StratifiedSplit, EveryClassKeepsATrainingExample) {
  // Two examples of class 0 and one of class 1, with most of the data asked for testing.
  Split split = StratifiedSplit({0, 0, 1}, 0.9, 5);
  EXPECT_EQ(split.train.size(), 2u);
  EXPECT_EQ(split.test.size(), 1u);
  EXPECT_NE(std::find(split.train.begin(), split.train.end(), 2), split.train.end());
}

TEST(StratifiedSplit, KeepsEachClassProportion) {
  const std::vector<int64_t> labels = UnevenLabels();
  const Split split = StratifiedSplit(labels, 0.2, 7);
  EXPECT_THAT(CountByClass(labels, split.test), ElementsAre(10, 6, 4));
  EXPECT_THAT(CountByClass(labels, split.train), ElementsAre(40, 24, 16));
}

TEST(StratifiedSplit, RoundsPerClassAndKeepsOneTestExampleOfAPair) {
  // Class 0: 10 examples (0.25 · 10 = 2.5 rounds to 3); class 1: 2 (0.5 rounds to 1);
  // class 2: a single example stays on the training side.
  std::vector<int64_t> labels(10, 0);
  labels.insert(labels.end(), {1, 1, 2});
  EXPECT_THAT(CountByClass(labels, StratifiedSplit(labels, 0.25, 0).test), ElementsAre(3, 1, 0));
  EXPECT_THAT(CountByClass(labels, StratifiedSplit(labels, 0.05, 0).test), ElementsAre(1, 1, 0));
  const Split none = StratifiedSplit(labels, 0.0, 0);
  EXPECT_TRUE(none.test.empty());
  EXPECT_EQ(none.train, Iota(13));
}

TEST(StratifiedSplit, IsSortedDisjointAndCoversEveryExample) {
  const std::vector<int64_t> labels = UnevenLabels();
  const Split split = StratifiedSplit(labels, 0.3, 11);
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_TRUE(std::is_sorted(split.test.begin(), split.test.end()));
  std::vector<int64_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, Iota(100));  // covers everything, each example once
}

TEST(StratifiedSplit, IsDeterministicBySeed) {
  const std::vector<int64_t> labels = UnevenLabels();
  const Split a = StratifiedSplit(labels, 0.2, 3);
  const Split b = StratifiedSplit(labels, 0.2, 3);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(StratifiedSplit(labels, 0.2, 4).test, a.test);
  EXPECT_NE(StratifiedSplit(labels, 0.2, 5).test, a.test);
}

TEST(StratifiedSplit, IsTheSameOnEveryStandardLibrary) {
  // Fisher-Yates on mt19937_64's raw output, which the standard fixes; a change here
  // reshuffles every split users have already reported on.
  const Split split = StratifiedSplit(std::vector<int64_t>(10, 0), 0.3, 42);
  EXPECT_THAT(split.test, ElementsAre(1, 7, 9));
}

TEST(StratifiedSplit, RejectsAFractionOutsideZeroToOne) {
  const std::vector<int64_t> labels = UnevenLabels();
  for (double fraction : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    test::ExpectError<SpecError>([&] { StratifiedSplit(labels, fraction, 0); }, 310,
                                 "probe: test_fraction must be in [0, 1)");
  }
}

// ---------------------------------------------------------------- Standardizer

TEST(Standardizer, CentresAndScalesByThePopulationStandardDeviation) {
  Eigen::MatrixXf x(4, 2);
  x << 1, 10,  //
      3, 10,   //
      5, 10,   //
      100, -7;
  const Standardizer s = Standardizer::Fit(x, {0, 1, 2});
  EXPECT_DOUBLE_EQ(s.mean(0), 3);
  EXPECT_DOUBLE_EQ(s.scale(0), std::sqrt(8.0 / 3));
  // Constant on the fitted rows: scale 1, and it stays exactly 0 there.
  EXPECT_DOUBLE_EQ(s.mean(1), 10);
  EXPECT_DOUBLE_EQ(s.scale(1), 1);
  const Eigen::MatrixXd z = s.Apply(x);
  EXPECT_DOUBLE_EQ(z(0, 0), -2 / std::sqrt(8.0 / 3));
  EXPECT_DOUBLE_EQ(z(3, 0), 97 / std::sqrt(8.0 / 3));
  EXPECT_EQ(z(0, 1), 0);
  EXPECT_EQ(z(2, 1), 0);
  EXPECT_DOUBLE_EQ(z(3, 1), -17);
}

TEST(Standardizer, FitsOnAllRowsByDefault) {
  Eigen::MatrixXf x(2, 1);
  x << 0, 4;
  const Standardizer s = Standardizer::Fit(x);
  EXPECT_DOUBLE_EQ(s.mean(0), 2);
  EXPECT_DOUBLE_EQ(s.scale(0), 2);
}

TEST(Standardizer, KeepsAConstantNeuronExactlyZero) {
  // The mean of many copies of 0.1f is not exactly 0.1f in floating point; dividing that
  // rounding error by its tiny standard deviation would give a neuron of ±1 noise.
  Eigen::MatrixXf x = Eigen::MatrixXf::Constant(1000, 1, 0.1f);
  const Standardizer s = Standardizer::Fit(x);
  EXPECT_EQ(s.scale(0), 1);
  EXPECT_TRUE((s.Apply(x).array() == 0).all());
}

// ---------------------------------------------------------------- FitProbe on blobs

class BlobProbe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    blobs_ = new Blobs(MakeBlobs(100, 1));
    split_ = new Split(StratifiedSplit(blobs_->labels, 0.25, 0));
    probe_ = new ProbeFit(FitProbe(blobs_->x, blobs_->labels, 3, *split_, ProbeOptions().l1(0.05).l2(0.01)));
    ranking_ = new NeuronRanking(RankNeurons(*probe_));
  }
  static void TearDownTestSuite() {
    delete ranking_;
    delete probe_;
    delete split_;
    delete blobs_;
  }
  static Blobs* blobs_;
  static Split* split_;
  static ProbeFit* probe_;
  static NeuronRanking* ranking_;
};

Blobs* BlobProbe::blobs_ = nullptr;
Split* BlobProbe::split_ = nullptr;
ProbeFit* BlobProbe::probe_ = nullptr;
NeuronRanking* BlobProbe::ranking_ = nullptr;

TEST_F(BlobProbe, ConvergesAndSeparatesTheClasses) {
  EXPECT_TRUE(probe_->converged);
  EXPECT_GT(probe_->iterations, 0);
  EXPECT_EQ(probe_->train_size, 225);
  EXPECT_EQ(probe_->test_size, 75);
  EXPECT_GE(probe_->train_accuracy, 0.95);
  EXPECT_GE(probe_->test_accuracy, 0.95);
  EXPECT_EQ(probe_->weights.rows(), 3);
  EXPECT_EQ(probe_->weights.cols(), kWidth);
  EXPECT_EQ(probe_->intercepts.size(), 3);
}

TEST_F(BlobProbe, ReportsTheObjectiveItReached) {
  const Gradient g = SmoothGradient(*probe_, blobs_->x, blobs_->labels, split_->train, 0.01);
  const double expected = g.loss + 0.005 * probe_->weights.squaredNorm() + 0.05 * probe_->weights.cwiseAbs().sum();
  EXPECT_NEAR(probe_->objective, expected, 1e-12);
}

TEST_F(BlobProbe, L1ZeroesTheUninformativeWeightsExactly) {
  int64_t zeros = 0;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t j = 0; j < kWidth; ++j) zeros += probe_->weights(c, j) == 0;
  }
  EXPECT_EQ(probe_->zero_weights, zeros);
  EXPECT_GE(probe_->zero_weights, 50);  // of 51 noise weights and 9 informative ones
  for (int64_t c = 0; c < 3; ++c) EXPECT_NE(probe_->weights(c, kInformative[c]), 0) << "class " << c;
}

TEST_F(BlobProbe, RanksTheInformativeNeuronsFirst) {
  EXPECT_THAT(ranking_->Top(3), UnorderedElementsAre(kInformative[0], kInformative[1], kInformative[2]));
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_THAT(ranking_->TopOfClass(c, 1), ElementsAre(kInformative[c])) << "class " << c;
  }
  for (int64_t j : ranking_->Bottom(10)) EXPECT_FALSE(IsInformative(j)) << "neuron " << j;
  const int64_t nonzero = (ranking_->importance.array() != 0).count();
  EXPECT_LE(ranking_->MassSize(1.0), nonzero);
  EXPECT_GE(ranking_->MassSize(1.0), 3);
  EXPECT_LE(ranking_->MassSize(0.5), 3);
}

TEST_F(BlobProbe, PredictAgreesWithTheReportedAccuracies) {
  const std::vector<int64_t> predicted = probe_->Predict(blobs_->x);
  ASSERT_EQ(predicted.size(), blobs_->labels.size());
  for (const auto& [rows, accuracy] :
       {std::make_pair(split_->train, probe_->train_accuracy), std::make_pair(split_->test, probe_->test_accuracy)}) {
    int64_t correct = 0;
    for (int64_t r : rows) correct += predicted[r] == blobs_->labels[r];
    EXPECT_EQ(static_cast<double>(correct) / static_cast<double>(rows.size()), accuracy);
  }
}

TEST_F(BlobProbe, RefitsIdentically) {
  const ProbeFit again = FitProbe(blobs_->x, blobs_->labels, 3, *split_, ProbeOptions().l1(0.05).l2(0.01));
  EXPECT_EQ(again.weights, probe_->weights);
  EXPECT_EQ(again.intercepts, probe_->intercepts);
  EXPECT_EQ(again.iterations, probe_->iterations);
}

TEST(ProbeFitPredict, BreaksTiesTowardsTheLowerClass) {
  ProbeFit probe;
  probe.weights = Eigen::MatrixXd::Zero(3, 2);
  probe.standardizer.mean = Eigen::VectorXd::Zero(2);
  probe.standardizer.scale = Eigen::VectorXd::Ones(2);
  probe.intercepts = Eigen::Vector3d(0, 2, 2);
  EXPECT_THAT(probe.Predict(Eigen::MatrixXf::Ones(2, 2)), ElementsAre(1, 1));
  probe.weights(2, 0) = 1;  // class 2 wins where neuron 0 is positive
  Eigen::MatrixXf x(2, 2);
  x << 0.5, 0,  //
      -0.5, 0;
  EXPECT_THAT(probe.Predict(x), ElementsAre(2, 1));
}

// ---------------------------------------------------------------- optimality

TEST(FitProbeOptimality, L2OnlyGradientVanishes) {
  const Blobs blobs = MakeBlobs(60, 2, 1.5);  // overlapping classes: a nontrivial optimum
  const Split split = StratifiedSplit(blobs.labels, 0.2, 1);
  const ProbeFit probe =
      FitProbe(blobs.x, blobs.labels, 3, split, ProbeOptions().l1(0).l2(0.05).tolerance(1e-12).max_iter(2000));
  EXPECT_TRUE(probe.converged);
  EXPECT_EQ(probe.zero_weights, 0);
  const Gradient g = SmoothGradient(probe, blobs.x, blobs.labels, split.train, 0.05);
  EXPECT_LT(g.w.cwiseAbs().maxCoeff(), 1e-7);
  EXPECT_LT(g.b.cwiseAbs().maxCoeff(), 1e-7);
  // And the optimum is not the trivial one.
  EXPECT_GT(probe.weights.cwiseAbs().maxCoeff(), 0.1);
}

TEST(FitProbeOptimality, L1SolutionMeetsTheKktConditions) {
  const Blobs blobs = MakeBlobs(60, 3, 1.5);
  const Split split = StratifiedSplit(blobs.labels, 0.2, 1);
  const double l1 = 0.02;
  const double l2 = 0.01;
  const ProbeFit probe =
      FitProbe(blobs.x, blobs.labels, 3, split, ProbeOptions().l1(l1).l2(l2).tolerance(1e-12).max_iter(2000));
  EXPECT_TRUE(probe.converged);
  const Gradient g = SmoothGradient(probe, blobs.x, blobs.labels, split.train, l2);
  int64_t zeros = 0;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t j = 0; j < kWidth; ++j) {
      const double w = probe.weights(c, j);
      if (w == 0) {
        ++zeros;
        EXPECT_LE(std::abs(g.w(c, j)), l1 + 1e-7) << "zero weight " << c << "," << j;
      } else {
        EXPECT_NEAR(g.w(c, j) + l1 * (w > 0 ? 1 : -1), 0, 1e-7) << "weight " << c << "," << j;
      }
    }
  }
  EXPECT_LT(g.b.cwiseAbs().maxCoeff(), 1e-7);
  // Both kinds of condition were exercised.
  EXPECT_GT(zeros, 10);
  EXPECT_LT(zeros, 57);
}

TEST(FitProbeOptimality, StopsAtMaxIterWithoutClaimingConvergence) {
  const Blobs blobs = MakeBlobs(30, 4, 1.5);
  const Split split = StratifiedSplit(blobs.labels, 0.2, 1);
  const ProbeFit probe = FitProbe(blobs.x, blobs.labels, 3, split, ProbeOptions().max_iter(2).tolerance(1e-12));
  EXPECT_EQ(probe.iterations, 2);
  EXPECT_FALSE(probe.converged);
}

// ---------------------------------------------------------------- edge cases

TEST(FitProbeEdges, EmptyTestSideGivesNanTestAccuracy) {
  const Blobs blobs = MakeBlobs(10, 5);
  const ProbeFit probe = FitProbe(blobs.x, blobs.labels, 3, StratifiedSplit(blobs.labels, 0, 0));
  EXPECT_EQ(probe.test_size, 0);
  EXPECT_TRUE(std::isnan(probe.test_accuracy));
  EXPECT_FALSE(std::isnan(probe.train_accuracy));
}

TEST(FitProbeEdges, ConstantNeuronGetsZeroWeight) {
  Blobs blobs = MakeBlobs(20, 6);
  blobs.x.col(3).setConstant(2.5f);
  const Split split = StratifiedSplit(blobs.labels, 0.2, 0);
  const ProbeFit probe = FitProbe(blobs.x, blobs.labels, 3, split, ProbeOptions().l1(0));
  EXPECT_TRUE(probe.converged);
  EXPECT_EQ(probe.standardizer.scale(3), 1);
  EXPECT_TRUE((probe.weights.col(3).array() == 0).all());
  EXPECT_TRUE(probe.weights.allFinite());
}

TEST(FitProbeEdges, ClassAbsentFromTrainingIsNeverPredicted) {
  Blobs blobs = MakeBlobs(20, 7);
  // Class 3 exists only on the test side.
  blobs.labels[0] = 3;
  Split split;
  for (int64_t i = 1; i < 60; ++i) split.train.push_back(i);
  split.test = {0};
  const ProbeFit probe = FitProbe(blobs.x, blobs.labels, 4, split);
  EXPECT_TRUE(probe.converged);
  EXPECT_TRUE(probe.weights.allFinite());
  EXPECT_LT(probe.intercepts(3), probe.intercepts.head(3).minCoeff());
  EXPECT_EQ(probe.test_accuracy, 0);
  for (int64_t p : probe.Predict(blobs.x)) EXPECT_NE(p, 3);
}

TEST(FitProbeEdges, SingleClassIsTrivial) {
  const Blobs blobs = MakeBlobs(10, 8);
  const std::vector<int64_t> labels(blobs.x.rows(), 0);
  const ProbeFit probe = FitProbe(blobs.x, labels, 1, StratifiedSplit(labels, 0.2, 0));
  EXPECT_TRUE(probe.converged);
  EXPECT_EQ(probe.train_accuracy, 1);
  EXPECT_EQ(probe.test_accuracy, 1);
  EXPECT_EQ(probe.zero_weights, kWidth);
  EXPECT_EQ(RankNeurons(probe).MassSize(0.9), 0);
}

// ---------------------------------------------------------------- errors

TEST(FitProbeErrors, RejectsBadDataWith209) {
  const Blobs blobs = MakeBlobs(4, 9);
  const Split split = StratifiedSplit(blobs.labels, 0.25, 0);
  std::vector<int64_t> short_labels(blobs.labels.begin(), blobs.labels.end() - 2);
  test::ExpectError<DataError>([&] { FitProbe(blobs.x, short_labels, 3, split); }, 209,
                               "probe: labels has 10 entries but x has 12 rows");
  std::vector<int64_t> bad_labels = blobs.labels;
  bad_labels[split.train[1]] = 3;
  test::ExpectError<DataError>([&] { FitProbe(blobs.x, bad_labels, 3, split); }, 209,
                               "probe: example " + std::to_string(split.train[1]) + ": label 3 is outside [0, 3)");
  bad_labels[split.train[1]] = -1;
  test::ExpectError<DataError>([&] { FitProbe(blobs.x, bad_labels, 3, split); }, 209, "label -1 is outside [0, 3)");
  test::ExpectError<DataError>(
      [&] {
        FitProbe(blobs.x, blobs.labels, 3, Split{{}, {0, 1}});
      },
      209, "probe: the training side of the split is empty");
  test::ExpectError<DataError>(
      [&] {
        FitProbe(blobs.x, blobs.labels, 3, Split{{0, 12}, {}});
      },
      209, "probe: split.train[1] is 12, outside the 12 rows of x");
  Eigen::MatrixXf with_nan = blobs.x;
  with_nan(split.test[0], 2) = std::numeric_limits<float>::quiet_NaN();
  test::ExpectError<DataError>([&] { FitProbe(with_nan, blobs.labels, 3, split); }, 209, "non-finite");
}

TEST(FitProbeErrors, RejectsBadOptionsWith310) {
  const Blobs blobs = MakeBlobs(4, 9);
  const Split split = StratifiedSplit(blobs.labels, 0.25, 0);
  auto fit = [&](const ProbeOptions& options) {
    return [&, options] { FitProbe(blobs.x, blobs.labels, 3, split, options); };
  };
  test::ExpectError<SpecError>(fit(ProbeOptions().l1(-1)), 310, "probe: l1 must be ≥ 0, got -1");
  test::ExpectError<SpecError>(fit(ProbeOptions().l2(-0.5)), 310, "probe: l2 must be ≥ 0, got -0.5");
  test::ExpectError<SpecError>(fit(ProbeOptions().l1(std::nan(""))), 310, "probe: l1 must be ≥ 0");
  test::ExpectError<SpecError>(fit(ProbeOptions().max_iter(0)), 310, "probe: max_iter must be ≥ 1, got 0");
  test::ExpectError<SpecError>(fit(ProbeOptions().history(0)), 310, "probe: history must be ≥ 1, got 0");
  test::ExpectError<SpecError>([&] { FitProbe(blobs.x, blobs.labels, 0, split); }, 310,
                               "probe: num_classes must be ≥ 1, got 0");
}

TEST(FitProbeErrors, PredictRejectsTheWrongWidth) {
  const Blobs blobs = MakeBlobs(4, 9);
  const ProbeFit probe = FitProbe(blobs.x, blobs.labels, 3, StratifiedSplit(blobs.labels, 0.25, 0));
  test::ExpectError<DataError>([&] { probe.Predict(Eigen::MatrixXf::Zero(2, kWidth + 1)); }, 209,
                               "probe: x has 21 columns but the probe was fitted on 20 neurons");
}

// ---------------------------------------------------------------- NeuronRanking

ProbeFit FitWithWeights(const Eigen::MatrixXd& weights) {
  ProbeFit probe;
  probe.weights = weights;
  probe.intercepts = Eigen::VectorXd::Zero(weights.rows());
  return probe;
}

TEST(NeuronRanking, OrdersByImportanceWithTiesByIndex) {
  Eigen::MatrixXd w(2, 5);
  w << 0, 1, -2, 0, 1,  //
      0, -1, 0, 0, 1;
  const NeuronRanking r = RankNeurons(FitWithWeights(w));
  EXPECT_THAT(std::vector<double>(r.importance.data(), r.importance.data() + 5), ElementsAre(0, 2, 2, 0, 2));
  EXPECT_THAT(r.global, ElementsAre(1, 2, 4, 0, 3));
  EXPECT_THAT(r.Top(2), ElementsAre(1, 2));
  EXPECT_THAT(r.Top(99), ElementsAre(1, 2, 4, 0, 3));
  EXPECT_TRUE(r.Top(-1).empty());
  // Least important first; with Top(3) it partitions the neurons.
  EXPECT_THAT(r.Bottom(2), ElementsAre(3, 0));
  EXPECT_THAT(r.per_class[0], ElementsAre(1, 4, 0, 3, 2));
  EXPECT_THAT(r.per_class[1], ElementsAre(4, 0, 2, 3, 1));
  EXPECT_THAT(r.TopOfClass(1, 2), ElementsAre(4, 0));
  test::ExpectError<SpecError>([&] { r.TopOfClass(2, 1); }, 310, "probe: class 2 is outside [0, 2)");
}

TEST(NeuronRanking, MassSizeIsTheShortestPrefixReachingTheFraction) {
  Eigen::MatrixXd w(1, 4);
  w << 0.5, 0, 3, -1.5;  // importance 3, 1.5, 0.5 of 5
  const NeuronRanking r = RankNeurons(FitWithWeights(w));
  EXPECT_EQ(r.MassSize(0.5), 1);
  EXPECT_EQ(r.MassSize(0.6), 1);
  EXPECT_EQ(r.MassSize(0.61), 2);
  EXPECT_EQ(r.MassSize(0.9), 2);
  EXPECT_EQ(r.MassSize(1.0), 3);  // the zero neuron is never needed
  EXPECT_EQ(r.MassSize(0), 0);
  EXPECT_EQ(RankNeurons(FitWithWeights(Eigen::MatrixXd::Zero(2, 3))).MassSize(1.0), 0);
}

}  // namespace
}  // namespace synapse
