// What differs between the LibTorch versions Synapse builds against (private), in one
// place: Debian 12's 1.13, Debian 13's 2.6, Debian testing's 2.14 and pytorch.org's
// downloads. Everything else in the engine is written once, against these names.
//
//   synapse::torch_compat::WarningHandlerGuard quiet(QuietTorchWarnings());
#ifndef SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_
#define SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_

#include <c10/util/Exception.h>
#include <torch/version.h>

#include <string>

namespace synapse::torch_compat {

// LibTorch 2.0 moved the guard into c10::WarningUtils and made a handler take the whole
// c10::Warning instead of (source location, message, verbatim).
#if TORCH_VERSION_MAJOR >= 2
using WarningHandlerGuard = c10::WarningUtils::WarningHandlerGuard;
#else
using WarningHandlerGuard = c10::Warning::WarningHandlerGuard;
#endif

/// A warning handler that sees each warning's text, whatever the LibTorch version.
class MessageWarningHandler : public c10::WarningHandler {
 public:
  /// Called once per warning LibTorch raises while the handler is installed.
  virtual void OnWarning(const std::string& message) = 0;

#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { OnWarning(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& message, const bool) override { OnWarning(message); }
#endif
};

}  // namespace synapse::torch_compat

#endif  // SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_
