// Checks on a model file that may be hostile, run right after torch::jit::load and before
// any tensor is touched or any code runs (docs/security.md).
//
// LibTorch 1.13's unpickler trusts a model file: a storage's element count and a tensor's
// sizes, strides and offset are taken from data.pkl unchecked, so a forged file yields
// tensors that read (or write) far past the bytes that were read for them. And TorchScript
// code may call operators that open files (aten::from_file) or the network (RPC).
#ifndef SYNAPSE_SRC_ENGINE_TORCHSCRIPT_UNTRUSTED_MODEL_H_
#define SYNAPSE_SRC_ENGINE_TORCHSCRIPT_UNTRUSTED_MODEL_H_

#include <torch/script.h>

#include <string>

namespace synapse {

// Throws ModelError 102 naming `path` and the first tensor (parameter, buffer, attribute or
// graph constant) whose view reaches past its storage, or whose storage claims more bytes
// than were allocated for it.
void CheckStorageBounds(const torch::jit::Module& module, const std::string& path);

// Throws ModelError 109 naming `path`, the operator and the function calling it when the
// model's code calls an operator that reaches outside the process's tensors: files
// (aten::from_file) or remote procedure calls and distributed collectives (rpc, c10d).
void CheckOperatorPolicy(const torch::jit::Module& module, const std::string& path);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_TORCHSCRIPT_UNTRUSTED_MODEL_H_
