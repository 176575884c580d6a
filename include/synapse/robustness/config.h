// What a robustness test runs on: the model, its evaluation data, tokenizer and labels, and
// the settings of the measurements. Written once in the test file, overridable per run.
//
//   class SpamFilter : public synapse::robustness::RobustnessTest {
//    protected:
//     SpamFilter() : RobustnessTest(synapse::robustness::Config().model("models/spam-tiny").seed(7)) {}
//   };
//
// Overrides, strongest first: flags (--synapse_model=PATH, --synapse_data, --synapse_tokenizer,
// --synapse_labels, --synapse_seed, --synapse_max_examples, --synapse_pad_id,
// --synapse_cache_dir, --synapse_adaptive), then the environment (SYNAPSE_MODEL, SYNAPSE_DATA,
// SYNAPSE_TOKENIZER, SYNAPSE_LABELS, SYNAPSE_SEED, SYNAPSE_MAX_EXAMPLES, SYNAPSE_PAD_ID,
// SYNAPSE_CACHE_DIR, SYNAPSE_ADAPTIVE), then the Config in the test file.
#ifndef SYNAPSE_ROBUSTNESS_CONFIG_H_
#define SYNAPSE_ROBUSTNESS_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/intervention.h"
#include "synapse/options.h"
#include "synapse/probe.h"

namespace synapse::robustness {

struct Config {
  /// A model directory as `synapse train` writes it (model.pt, tokenizer.json, labels.json,
  /// eval.jsonl: whatever of them exists fills the fields below that are empty), or a
  /// TorchScript file.
  SYNAPSE_ARG(std::string, model);
  /// Labelled evaluation rows: JSONL (text, input_ids or features) or CSV/TSV.
  SYNAPSE_ARG(std::string, data);
  /// tokenizer.json or vocab.txt; needed when the rows are text.
  SYNAPSE_ARG(std::string, tokenizer);
  /// Class names: a JSON list or a Hugging Face config with id2label.
  SYNAPSE_ARG(std::string, labels);
  /// Layers the tests may query (negative counts from the end); empty: every layer. Only
  /// these are captured, so a large model extracts less.
  SYNAPSE_ARG(std::vector<int>, layers);
  /// Seeds the probe split, random neuron draws and noise; the same seed as
  /// `synapse analyze --seed` gives the same numbers.
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// A stratified sample of this many rows; 0: every row.
  SYNAPSE_ARG(int64_t, max_examples) = 0;
  /// Token limit; 0: the tokenizer's own.
  SYNAPSE_ARG(int64_t, max_length) = 0;
  SYNAPSE_ARG(int64_t, batch_size) = 32;
  /// The token id batches are padded with (RoBERTa pads with 1); -1: the tokenizer's, else 0.
  SYNAPSE_ARG(int64_t, pad_id) = -1;
  SYNAPSE_ARG(Pooling, pool) = Pooling::kFirst;
  /// The level of the intervals in explanations, and of matchers' WithConfidence() default.
  SYNAPSE_ARG(double, confidence) = 0.95;
  /// Draws of the random control that HurtsMoreThanRandom compares with.
  SYNAPSE_ARG(int, random_seeds) = 5;
  SYNAPSE_ARG(ProbeOptions, probe);
  /// Share of each class held out to score a probe.
  SYNAPSE_ARG(double, test_fraction) = 0.2;
  /// Where extractions are cached (synapse/activation_cache.h), so every test binary on
  /// the same model and data extracts once: empty means DefaultCacheDir()
  /// (~/.cache/synapse); "off" turns the cache off. Resolved: the directory, or empty.
  SYNAPSE_ARG(std::string, cache_dir);
  /// Matchers on queries evaluate adaptively (synapse/robustness/adaptive.h): examples in a
  /// seeded random order, stopping once a confidence sequence decides the check. Checks that
  /// need the whole set (probe accuracy, flip budgets, class asymmetry) use it.
  /// SYNAPSE_ADAPTIVE=1 or --synapse_adaptive turns it on for a run.
  SYNAPSE_ARG(bool, adaptive) = false;
};

/// The config with the environment's and InitSynapse's flags applied, a model directory
/// expanded into its files (synapse/model_directory.h), and every path checked. Throws
/// UsageError 403 naming the field and where its value came from when a path does not
/// exist or no model is named.
Config ResolveConfig(const Config& config);

/// Reads and removes the --synapse_* flags from argv, like InitGoogleTest does for
/// --gtest_*: --synapse_model, --synapse_data, --synapse_tokenizer, --synapse_labels,
/// --synapse_seed, --synapse_max_examples, --synapse_report_dir, --synapse_threads,
/// --synapse_cache_dir, --synapse_pad_id, --synapse_adaptive (a switch; =0 turns it off).
/// Throws UsageError 403 for an unknown --synapse_ flag or a flag without a value. Optional
/// where synapse::gtest is linked (it reads the flags itself when RUN_ALL_TESTS starts);
/// call it to fail before anything else runs, or to keep --synapse_* out of argv.
void InitSynapse(int* argc, char** argv);

/// Reads the --synapse_* flags of a whole command line (args[0] the program) without
/// changing it; a setting already given by InitSynapse or OverrideSetting stays. What
/// synapse::gtest does at the start of RUN_ALL_TESTS under any main(), on the arguments
/// the program gave InitGoogleTest. Throws UsageError 403 as InitSynapse does.
void InitSynapseFromCommandLine(const std::vector<std::string>& args);

/// Whether InitSynapse or InitSynapseFromCommandLine has run.
bool SynapseFlagsRead();

/// Sets a setting the way a --synapse_NAME flag does (over the environment and the
/// Config), for a program with options of its own: `synapse gate --model M` calls
/// OverrideSetting("model", M, "--model"), and errors then name "--model".
void OverrideSetting(const std::string& name, const std::string& value, const std::string& origin);

/// The value of a --synapse_NAME flag seen by InitSynapse, else of the environment variable
/// SYNAPSE_NAME (upper case), else "".
std::string SettingFromFlagsOrEnvironment(const std::string& name);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_CONFIG_H_
