// The extraction cache: a second extraction on the same model, data and options is read
// back bit-identically; anything that changes the result (data, weights, options) misses;
// corrupt, truncated or foreign entries are detected, recomputed and replaced; a cache
// that cannot be written never fails the extraction; the CLI reports what it did.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "synapse/synapse.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kFixtures = SYNAPSE_FIXTURE_DIR;

std::vector<Example> Batch(int n) {
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> ids = {2};
    for (int j = 0; j <= i % 5; ++j) ids.push_back(5 + (7 * i + 3 * j) % 90);
    ids.push_back(3);
    out.push_back(Example::Tokens(ids));
  }
  return out;
}

void ExpectIdentical(const Extraction& a, const Extraction& b) {
  ASSERT_EQ(a.logits.rows(), b.logits.rows());
  ASSERT_EQ(a.logits.cols(), b.logits.cols());
  EXPECT_TRUE((a.logits.array() == b.logits.array()).all());
  ASSERT_EQ(a.activations.size(), b.activations.size());
  for (const auto& [layer, m] : a.activations) {
    ASSERT_TRUE(b.activations.count(layer));
    EXPECT_TRUE((m.array() == b.activations.at(layer).array()).all()) << "layer " << layer;
  }
}

class ActivationCacheTest : public ::testing::Test {
 protected:
  ActivationCacheTest() : model_(Model::Load(kFixtures + "/bert_traced.pt")), examples_(Batch(7)) {}
  void SetUp() override {
    dir_ = test::TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    cache_ = dir_ + "/cache";
  }

  Extraction Cached(CacheLookup* lookup, const BatchOptions& options = BatchOptions().batch_size(3),
                    const std::vector<int>& layers = {}) {
    return ExtractCached(model_, examples_, options, layers, cache_, lookup);
  }

  Model model_;
  std::vector<Example> examples_;
  std::string dir_;
  std::string cache_;
};

TEST_F(ActivationCacheTest, SecondExtractionIsReadBackBitIdentically) {
  const Extraction fresh = Extract(model_, examples_, BatchOptions().batch_size(3));
  CacheLookup first, second;
  const Extraction a = Cached(&first);
  EXPECT_EQ(first.status, "miss");
  EXPECT_EQ(first.reason, "");
  EXPECT_THAT(first.path, HasSubstr(cache_ + "/"));
  const Extraction b = Cached(&second);
  EXPECT_EQ(second.status, "hit");
  EXPECT_EQ(second.path, first.path);
  ExpectIdentical(fresh, a);
  ExpectIdentical(fresh, b);
  EXPECT_EQ(b.seconds, a.seconds);  // the pass's time, kept with the entry
}

TEST_F(ActivationCacheTest, WhatChangesTheResultMisses) {
  CacheLookup base, lookup;
  Cached(&base);
  // Other data.
  examples_.back().input_ids[1] += 1;
  Cached(&lookup);
  EXPECT_EQ(lookup.status, "miss");
  EXPECT_NE(lookup.path, base.path);
  examples_ = Batch(7);
  // Other options or layers.
  Cached(&lookup, BatchOptions().batch_size(3).pool(Pooling::kMean));
  EXPECT_EQ(lookup.status, "miss");
  Cached(&lookup, BatchOptions().batch_size(3), {1});
  EXPECT_EQ(lookup.status, "miss");
  // Perturbed weights are another model; restored weights are the same one again.
  {
    WeightPerturbation w(model_);
    w.Scale("classifier.weight", 1.5);
    const Extraction perturbed = Cached(&lookup);
    EXPECT_EQ(lookup.status, "miss");
    ExpectIdentical(perturbed, Extract(model_, examples_, BatchOptions().batch_size(3)));
  }
  Cached(&lookup);
  EXPECT_EQ(lookup.status, "hit");
  EXPECT_EQ(lookup.path, base.path);
}

TEST_F(ActivationCacheTest, DamagedEntriesAreRebuiltNeverTrusted) {
  const Extraction fresh = Extract(model_, examples_, BatchOptions().batch_size(3));
  CacheLookup lookup;
  Cached(&lookup);
  const std::string path = lookup.path;
  const std::string good = test::ReadFile(path);
  struct Damage {
    const char* name;
    std::function<std::string(std::string)> edit;
    const char* reason;
  };
  const std::vector<Damage> damages = {
      {"flipped payload byte",
       [](std::string s) {
         s[s.size() - 5] ^= 0x40;
         return s;
       },
       "checksum does not match"},
      {"truncated payload", [](std::string s) { return s.substr(0, s.size() - 12); }, "truncated"},
      {"cut inside the header", [](std::string s) { return s.substr(0, 20); }, "no header"},
      {"garbage header", [](std::string s) { return "{not json" + s.substr(s.find('\n')); }, "not JSON"},
      {"empty file", [](std::string) { return std::string(); }, "no header"},
      {"another key",
       [](std::string s) {
         const size_t at = s.find("\"threads\":\"");
         s.insert(at + 11, "9");
         return s;
       },
       "key differs (threads)"},
      {"missing field",
       [](std::string s) {
         const size_t at = s.find("\"classes\"");
         s.replace(at, 9, "\"classeX\"");
         return s;
       },
       "lacks a field"},
  };
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.name);
    test::WriteFile(path, d.edit(good));
    const Extraction x = Cached(&lookup);
    EXPECT_EQ(lookup.status, "rebuilt");
    EXPECT_THAT(lookup.reason, HasSubstr(d.reason));
    ExpectIdentical(fresh, x);
    const std::string now = test::ReadFile(path);
    const bool same_contents =
        now.find('\n') != std::string::npos && now.substr(now.find('\n')) == good.substr(good.find('\n'));
    EXPECT_TRUE(same_contents) << "the entry was not replaced by a whole one";
    Cached(&lookup);
    EXPECT_EQ(lookup.status, "hit");
  }
}

TEST_F(ActivationCacheTest, AnUnwritableCacheNeverFailsTheExtraction) {
  test::WriteFile(cache_, "a file where the cache directory should be");
  CacheLookup lookup;
  const Extraction x = Cached(&lookup);
  EXPECT_EQ(lookup.status, "miss");
  EXPECT_THAT(lookup.reason, HasSubstr("not stored: "));
  ExpectIdentical(x, Extract(model_, examples_, BatchOptions().batch_size(3)));
}

TEST_F(ActivationCacheTest, NoDirectoryMeansNoCache) {
  CacheLookup lookup;
  ExtractCached(model_, examples_, BatchOptions(), {}, "", &lookup);
  EXPECT_EQ(lookup.status, "off");
  EXPECT_EQ(lookup.path, "");
}

TEST(DefaultCacheDir, FollowsTheEnvironment) {
  const char* saved_home = std::getenv("HOME");
  const std::string home = saved_home ? saved_home : "";
  unsetenv("SYNAPSE_CACHE_DIR");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/ci", 1);
  EXPECT_EQ(DefaultCacheDir(), "/home/ci/.cache/synapse");
  setenv("XDG_CACHE_HOME", "/var/cache/ci", 1);
  EXPECT_EQ(DefaultCacheDir(), "/var/cache/ci/synapse");
  setenv("SYNAPSE_CACHE_DIR", "/tmp/synapse-cache", 1);
  EXPECT_EQ(DefaultCacheDir(), "/tmp/synapse-cache");
  unsetenv("SYNAPSE_CACHE_DIR");
  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  EXPECT_EQ(DefaultCacheDir(), "");
  if (saved_home) setenv("HOME", home.c_str(), 1);
}

// The report without what may differ between runs: timing, environment, seconds.
json WithoutTimes(json j) {
  if (j.is_object()) {
    j.erase("timing");
    j.erase("environment");
    for (auto it = j.begin(); it != j.end();) {
      if (it.key() == "seconds" || (it.key().size() > 2 && it.key().substr(it.key().size() - 2) == "_s")) {
        it = j.erase(it);
      } else {
        *it = WithoutTimes(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) v = WithoutTimes(v);
  }
  return j;
}

TEST(ActivationCacheCli, SecondAnalyzeHitsAndReportsTheSameResults) {
  const std::string dir = test::TempDir("cache_cli");
  std::ostringstream rows;
  for (int i = 0; i < 30; ++i) {
    std::vector<int64_t> ids = {2};
    for (int j = 0; j <= i % 6; ++j) ids.push_back(5 + (11 * i + 5 * j) % 90);
    rows << json{{"input_ids", ids}, {"label", i % 3}}.dump() << "\n";
  }
  test::WriteFile(dir + "/rows.jsonl", rows.str());
  test::WriteFile(dir + "/labels.json", R"(["a", "b", "c"])");
  auto analyze = [&](const std::string& out, const std::string& extra) {
    const std::string command = std::string(SYNAPSE_CLI) + " analyze --quiet --model " + kFixtures +
                                "/bert_traced.pt --data " + dir + "/rows.jsonl --labels " + dir +
                                "/labels.json --k 1,2 --random-seeds 2 --no-weight-space --threads 1 --out " + dir +
                                "/" + out + " " + extra;
    const test::CommandResult r = test::RunCommand(command, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(std::ifstream(dir + "/" + out + "/report.json"));
  };
  json first = analyze("r1", "--cache-dir " + dir + "/cache");
  json second = analyze("r2", "--cache-dir " + dir + "/cache");
  json off = analyze("r3", "--no-cache");
  EXPECT_EQ(first["timing"]["activation_cache"]["status"], "miss");
  EXPECT_EQ(second["timing"]["activation_cache"]["status"], "hit");
  EXPECT_EQ(off["timing"]["activation_cache"]["status"], "off");
  EXPECT_EQ(first["timing"]["suffix_execution"]["enabled"], true);
  EXPECT_EQ(WithoutTimes(first), WithoutTimes(second));
  EXPECT_EQ(WithoutTimes(first), WithoutTimes(off));
}

}  // namespace
}  // namespace synapse
