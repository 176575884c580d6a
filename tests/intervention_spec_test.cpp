// The SPEC grammar: SITE:OP[=ARG]:NEURONS[:POSITIONS].
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/error.h"
#include "synapse/intervention.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Op = Intervention::Op;

TEST(ParseIntervention, ZeroAtLayerIndexWithList) {
  Intervention iv = ParseIntervention("3:zero:1,5,9");
  EXPECT_EQ(iv.op(), Op::kZero);
  EXPECT_TRUE(iv.site().is_layer_index());
  EXPECT_EQ(iv.site().layer_index(), 3);
  EXPECT_THAT(iv.neurons().indices(), ElementsAre(1, 5, 9));
  EXPECT_EQ(iv.positions(), Positions::kAll);
}

TEST(ParseIntervention, ScaleAllPooledAtNegativeLayer) {
  Intervention iv = ParseIntervention("-1:scale=2:all:pooled");
  EXPECT_EQ(iv.op(), Op::kScale);
  EXPECT_EQ(iv.site().layer_index(), -1);
  EXPECT_DOUBLE_EQ(iv.value(), 2.0);
  EXPECT_TRUE(iv.neurons().all());
  EXPECT_EQ(iv.positions(), Positions::kPooled);
}

TEST(ParseIntervention, RangesAndNegativeNeurons) {
  EXPECT_THAT(ParseIntervention("0:const=0.5:9-12,1").neurons().indices(), ElementsAre(9, 10, 11, 12, 1));
  EXPECT_THAT(ParseIntervention("0:zero:-3--1").neurons().indices(), ElementsAre(-3, -2, -1));
}

TEST(ParseIntervention, LogitShiftAndNamedLayer) {
  Intervention shift = ParseIntervention("logits:shift:0,0.5,-0.5");
  EXPECT_EQ(shift.op(), Op::kShift);
  EXPECT_TRUE(shift.site().is_logits());
  EXPECT_THAT(shift.values(), ElementsAre(0.f, 0.5f, -0.5f));
  Intervention named = ParseIntervention("bert.encoder.layer.3:noise=0.1:all");
  EXPECT_EQ(named.site().layer_name(), "bert.encoder.layer.3");
  EXPECT_EQ(named.op(), Op::kNoise);
}

TEST(ParseIntervention, RoundTripsThroughToString) {
  for (const char* spec : {"3:zero:1,5,9-12", "-1:scale=2:all:pooled", "0:const=0.5:0-3:pooled",
                           "logits:shift:0,0.5,-0.5", "bert.encoder.layer.0:noise=0.25:all"}) {
    EXPECT_EQ(ParseIntervention(spec).ToString(), spec);
  }
}

struct BadSpec {
  const char* spec;
  int id;
  const char* message;
};

void PrintTo(const BadSpec& p, std::ostream* os) { *os << "\"" << p.spec << "\""; }

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, ThrowsSpecErrorNamingTheProblem) {
  try {
    ParseIntervention(GetParam().spec);
    FAIL() << "no error for " << GetParam().spec;
  } catch (const SpecError& e) {
    EXPECT_EQ(e.id(), GetParam().id) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
    EXPECT_THAT(e.what(), HasSubstr(std::string("\"") + GetParam().spec + "\""));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, BadSpecTest,
    ::testing::Values(BadSpec{"3:zero", 301, "expected SITE:OP"}, BadSpec{"", 301, "expected SITE:OP"},
                      BadSpec{":zero:1", 301, "missing SITE"}, BadSpec{"3:zero:1:middle", 301, "POSITIONS"},
                      BadSpec{"3:explode:1", 302, "unknown operation"}, BadSpec{"3:scale:1", 302, "needs a number"},
                      BadSpec{"3:scale=abc:1", 302, "needs a number"}, BadSpec{"3:zero=1:1", 302, "takes no argument"},
                      BadSpec{"3:noise=-1:1", 302, "sigma"}, BadSpec{"3:shift:1", 302, "only at logits"},
                      BadSpec{"logits:zero:1", 302, "only operation is shift"},
                      BadSpec{"3:zero:1,x", 303, "\"x\" is not a neuron index"},
                      BadSpec{"3:zero:", 303, "empty neuron list"}, BadSpec{"3:zero:9-2", 303, "must go upwards"},
                      BadSpec{"logits:shift:1,a", 303, "numbers"}, BadSpec{"3:scale=nan:1", 302, "needs a number"},
                      BadSpec{"99999999:zero:1", 304, "out of range"}));

TEST(Neurons, ResolveSortsDeduplicatesAndWrapsNegatives) {
  EXPECT_THAT(Neurons::Of({5, 1, 5, -1}).Resolve(8, "layer 0"), ElementsAre(1, 5, 7));
  EXPECT_EQ(Neurons::All().Resolve(3, "layer 0").size(), 3u);
}

TEST(Neurons, OutOfRangeNamesTheSiteAndWidth) {
  test::ExpectError<SpecError>([] { Neurons::Of({40}).Resolve(32, "layer bert.encoder.layer.1"); }, 305,
                               "neuron 40 is out of range for layer bert.encoder.layer.1 (it has 32 neurons");
}

// Found by fuzz/intervention_spec_fuzzer: a SPEC holding newlines was echoed verbatim, so
// the message spanned several lines. Every synapse::Error now escapes control characters.
TEST(InterventionSpec, ControlCharactersStayOnOneLine) {
  test::ExpectError<SpecError>(
      [] {
        ParseIntervention(
            "\n\n$2:\xa0"
            "5zall");
      },
      301, "intervention \"\\n\\n$2:");
  EXPECT_STREQ(SpecError(301,
                         "a\tb\x01"
                         "c")
                   .what(),
               "[synapse.spec.301] a\\tb\\x01c");
}

}  // namespace
}  // namespace synapse
