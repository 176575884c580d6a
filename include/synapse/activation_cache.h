// Extraction results cached on disk, so repeated runs on the same model and data skip the
// extraction pass (CI reruns, every test binary of a suite, analyze after analyze).
//
//   synapse::CacheLookup lookup;
//   synapse::Extraction x = synapse::ExtractCached(model, examples, batching, {},
//                                                  synapse::DefaultCacheDir(), &lookup);
//   std::cerr << lookup.status << " " << lookup.path << "\n";   // "hit", "miss", "rebuilt" ...
//
// An entry is keyed by hashes of the model file's bytes, of the model's parameters as they
// are now (a perturbed model is another model), of every example (ids, mask, type ids,
// features), and by the options that shape the result (pooling, batch size, padding id,
// layers, intra-op threads) and the Synapse and LibTorch versions. The entry repeats its
// key and carries a checksum of its contents; an entry whose key, shapes or checksum do
// not match (stale, truncated, corrupt) is never used: it is recomputed and replaced.
// Entries are written atomically, so concurrent runs (parallel test binaries) are safe.
#ifndef SYNAPSE_ACTIVATION_CACHE_H_
#define SYNAPSE_ACTIVATION_CACHE_H_

#include <string>
#include <vector>

#include "synapse/extraction.h"

namespace synapse {

/// $SYNAPSE_CACHE_DIR, else $XDG_CACHE_HOME/synapse, else $HOME/.cache/synapse; empty
/// (no cache) when none of them is set.
std::string DefaultCacheDir();

/// The cache directory a setting names: "off" is no cache (""), "" is DefaultCacheDir(),
/// anything else is itself. `synapse analyze --cache-dir` and the robustness tests'
/// cache_dir setting read it alike.
std::string CacheDirFromSetting(const std::string& setting);

/// What the cache did for one extraction.
struct CacheLookup {
  /// "hit" (read from the entry), "miss" (no entry: computed and stored), "rebuilt" (an
  /// entry failed validation: computed and replaced), "off" (no cache directory).
  std::string status = "off";
  /// The entry's file; empty when off.
  std::string path;
  /// For "rebuilt", the check that failed; for a result that could not be stored, why.
  std::string reason;
  /// Wall time of ExtractCached: the lookup, and the pass when there was one.
  double seconds = 0;
};

/// Extract() through the cache in `cache_dir` (created if missing; empty: no cache).
/// Returns what Extract would; on a hit, `seconds` is the pass's time when it ran. A
/// cache that cannot be written never fails the extraction: `lookup->reason` says why.
Extraction ExtractCached(const Model& model, const std::vector<Example>& examples, const BatchOptions& options,
                         const std::vector<int>& layers, const std::string& cache_dir, CacheLookup* lookup = nullptr,
                         const ProgressCallback& progress = {});

}  // namespace synapse

#endif  // SYNAPSE_ACTIVATION_CACHE_H_
