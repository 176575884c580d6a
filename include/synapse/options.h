// Chaining setters for options structs, in the style of LibTorch's TORCH_ARG.
//
//   struct RunOptions {
//     SYNAPSE_ARG(uint64_t, seed) = 0;
//   };
//   RunOptions().seed(7).batch_size(16);   // set
//   options.seed();                         // read
#ifndef SYNAPSE_OPTIONS_H_
#define SYNAPSE_OPTIONS_H_

#include <utility>

#define SYNAPSE_ARG(T, name)                         \
 public:                                             \
  auto& name(const T& new_##name) {                  \
    name##_ = new_##name;                            \
    return *this;                                    \
  }                                                  \
  const T& name() const noexcept { return name##_; } \
                                                     \
 private:                                            \
  T name##_

#endif  // SYNAPSE_OPTIONS_H_
