// Checks that a loaded TorchScript module's tensors stay inside the memory they were given.
//
// LibTorch 1.13's unpickler trusts a model file: a storage's element count and a tensor's
// sizes, strides and offset are taken from data.pkl unchecked, so a forged file yields
// tensors that read (or write) far past the bytes that were read for them. This check runs
// right after torch::jit::load, before any tensor is touched.
#pragma once

#include <torch/script.h>

#include <string>

namespace synapse {

// Throws ModelError 102 naming `path` and the first tensor (parameter, buffer, attribute or
// graph constant) whose view reaches past its storage, or whose storage claims more bytes
// than were allocated for it.
void CheckStorageBounds(const torch::jit::Module& module, const std::string& path);

}  // namespace synapse
