// The hashes Synapse uses, in one place (private): SplitMix64 for seeds and per-example
// noise streams, FNV-1a for the fingerprints reports carry (parameter_hash, examples_hash:
// they pair reports across Synapse versions, so their values never change), and a 128-bit
// hash for extraction-cache keys (whole model files, 8 bytes at a time).
#ifndef SYNAPSE_SRC_UTIL_HASHING_H_
#define SYNAPSE_SRC_UTIL_HASHING_H_

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace synapse {

/// SplitMix64's output function (Steele, Lea and Flood 2014): a bijective 64-bit mixer.
inline uint64_t SplitMix64Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// One SplitMix64 step from state `x`.
inline uint64_t SplitMix64(uint64_t x) { return SplitMix64Finalize(x + 0x9E3779B97F4A7C15ULL); }

/// 64-bit FNV-1a over bytes.
class Fnv1a64 {
 public:
  static constexpr uint64_t kOffsetBasis = 0xCBF29CE484222325ULL;
  /// The basis reports' parameter_hash has always used: FNV's offset basis
  /// 14695981039346656037 with its last digit lost. Kept, so that parameter_hash stays the
  /// same for the same parameters across Synapse versions.
  static constexpr uint64_t kParameterHashBasis = 1469598103934665603ULL;

  explicit Fnv1a64(uint64_t basis = kOffsetBasis) : h_(basis) {}
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001B3ULL;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_;
};

// A 128-bit non-cryptographic hash, 8 bytes at a time (a BERT-base file is 440 MB).
class Hash128 {
 public:
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      Word(w);
    }
    uint64_t tail = 0;
    if (n > i) std::memcpy(&tail, p + i, n - i);  // never memcpy from a null pointer
    Word(tail ^ (static_cast<uint64_t>(n - i) << 56));
    length_ += n;
  }
  void Add(const std::string& s) {
    const uint64_t n = s.size();
    Add(&n, sizeof(n));
    Add(s.data(), s.size());
  }
  template <typename T>
  void AddVector(const std::vector<T>& v) {
    const uint64_t n = v.size();
    Add(&n, sizeof(n));
    Add(v.data(), v.size() * sizeof(T));
  }
  std::string Hex() const {
    char out[33];
    std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(Mix(a_ ^ length_)),
                  static_cast<unsigned long long>(Mix(b_ + Mix(a_))));
    return out;
  }

 private:
  static uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static uint64_t Mix(uint64_t z) { return SplitMix64Finalize(z); }
  void Word(uint64_t w) {
    a_ = Rotl(a_ ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
    b_ = Rotl(b_ + w, 27) * 0x9e3779b97f4a7c15ULL + a_;
  }
  uint64_t a_ = 0x6a09e667f3bcc908ULL;
  uint64_t b_ = 0xbb67ae8584caa73bULL;
  uint64_t length_ = 0;
};

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_HASHING_H_
