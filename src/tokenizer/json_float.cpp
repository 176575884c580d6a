// serde_json's number parsing (de.rs: parse_integer, parse_decimal, parse_exponent,
// f64_from_parts without float_roundtrip) and a SAX pass that keeps score literals.
#include "tokenizer/json_float.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace synapse {
namespace {

const std::array<double, 309>& Pow10() {
  static const std::array<double, 309> table = [] {
    std::array<double, 309> t{};
    // Correctly rounded powers of ten, as Rust's literals 1e0 ... 1e308 are.
    for (int i = 0; i < 309; ++i) t[static_cast<size_t>(i)] = std::stod("1e" + std::to_string(i));
    return t;
  }();
  return table;
}

double FromParts(bool positive, uint64_t significand, int64_t exponent) {
  double f = static_cast<double>(significand);
  for (;;) {
    const uint64_t magnitude = static_cast<uint64_t>(exponent < 0 ? -exponent : exponent);
    if (magnitude < 309) {
      if (exponent >= 0)
        f *= Pow10()[magnitude];
      else
        f /= Pow10()[magnitude];
      break;
    }
    if (f == 0.0) break;
    if (exponent >= 0) return positive ? HUGE_VAL : -HUGE_VAL;
    f /= 1e308;
    exponent += 308;
  }
  return positive ? f : -f;
}

bool Overflows(uint64_t value, uint64_t digit) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  return value >= kMax / 10 && (value > kMax / 10 || digit > kMax % 10);
}

// Collects the literal of every number at model.vocab[i][1].
class ScoreCollector : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> scores;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t v) override {
    if (InScore()) scores.push_back(std::to_string(v));
    return Value();
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (InScore()) scores.push_back(std::to_string(v));
    return Value();
  }
  bool number_float(number_float_t, const string_t& s) override {
    if (InScore()) scores.push_back(s);
    return Value();
  }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override {
    Value();
    stack_.push_back({false, "", 0});
    return true;
  }
  bool key(string_t& k) override {
    stack_.back().key = k;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    Value();
    stack_.push_back({true, "", 0});
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct Level {
    bool array;
    std::string key;
    size_t index;
  };
  // A value in an array advances its index (after InScore has looked at it).
  bool Value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  // {"model": {"vocab": [[piece, SCORE], ...]}} at the top level.
  bool InScore() const {
    return stack_.size() == 4 && !stack_[0].array && stack_[0].key == "model" && !stack_[1].array &&
           stack_[1].key == "vocab" && stack_[2].array && stack_[3].array && stack_[3].index == 1;
  }
  std::vector<Level> stack_;
};

}  // namespace

std::optional<double> SerdeJsonFloat(const std::string& text) {
  size_t i = 0;
  const size_t n = text.size();
  bool positive = true;
  if (i < n && text[i] == '-') {
    positive = false;
    ++i;
  }
  if (i >= n || text[i] < '0' || text[i] > '9') return std::nullopt;
  uint64_t significand = 0;
  int64_t exponent = 0;
  bool overflowed = false;
  // Integer part.
  for (; i < n && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (overflowed || Overflows(significand, digit)) {
      // serde_json switches to parse_long_integer here; such scores do not occur.
      return std::nullopt;
    }
    significand = significand * 10 + digit;
  }
  if (i < n && text[i] == '.') {
    ++i;
    for (; i < n && text[i] >= '0' && text[i] <= '9'; ++i) {
      const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
      if (overflowed || Overflows(significand, digit)) {
        overflowed = true;  // parse_decimal_overflow: further digits are ignored
        continue;
      }
      significand = significand * 10 + digit;
      --exponent;
    }
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool positive_exp = true;
    if (i < n && (text[i] == '+' || text[i] == '-')) positive_exp = text[i++] == '+';
    if (i >= n) return std::nullopt;
    int64_t exp = 0;
    for (; i < n && text[i] >= '0' && text[i] <= '9'; ++i) {
      exp = std::min<int64_t>(exp * 10 + (text[i] - '0'), std::numeric_limits<int32_t>::max());
    }
    exponent = positive_exp ? exponent + exp : exponent - exp;
  }
  if (i != n) return std::nullopt;
  return FromParts(positive, significand, exponent);
}

std::vector<std::string> UnigramScoreTexts(const std::string& file_text) {
  ScoreCollector collector;
  if (!nlohmann::json::sax_parse(file_text, &collector)) return {};
  return collector.scores;
}

}  // namespace synapse
