// What happens after the model: special tokens (post-processors), truncation and padding,
// as tokenizers' processors/*.rs and utils/{truncation,padding}.rs do them (private).
//
//   PostProcessor post = PostProcessor::FromJson(j["post_processor"], "post_processor", ids);
//   Truncation t = Truncation::FromJson(j["truncation"], "truncation");
//   t.Apply(post.AddedCount(pair), &a, &b);  Example e = post.Apply(a, b);  padding.Apply(&e);
#ifndef SYNAPSE_SRC_TOKENIZER_POST_PROCESSORS_H_
#define SYNAPSE_SRC_TOKENIZER_POST_PROCESSORS_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "synapse/example.h"

namespace synapse {

/// One item of a template: a sequence (A or B) or special token ids, with a type id.
struct TemplateItem {
  bool is_sequence = false;
  int sequence = 0;  // 0 = A, 1 = B
  std::vector<int64_t> ids;
  int64_t type_id = 0;
};

class PostProcessor {
 public:
  /// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel (ids unchanged) or a
  /// Sequence of them (at most one that adds tokens); null adds nothing. 502 otherwise.
  static PostProcessor FromJson(const nlohmann::json& j, const std::string& path);

  /// How many special tokens a single text (or a pair) gets.
  int64_t AddedCount(bool pair) const;
  /// The encoding of `a` (and `b`) with special tokens and type ids.
  Example Apply(const std::vector<int64_t>& a, const std::vector<int64_t>* b) const;

 private:
  std::vector<TemplateItem> single_ = {{true, 0, {}, 0}};
  std::vector<TemplateItem> pair_ = {{true, 0, {}, 0}, {true, 1, {}, 1}};
};

struct Truncation {
  enum class Strategy { kLongestFirst, kOnlyFirst, kOnlySecond };
  int64_t max_length = 0;  // 0: none set
  Strategy strategy = Strategy::kLongestFirst;
  bool from_left = false;

  /// Reads tokenizer.json's `truncation` (null: not set). 502/506 on what it cannot honour.
  static Truncation FromJson(const nlohmann::json& j, const std::string& path);
  /// truncate_encodings with max_length less the `added` special tokens. Throws 507 where
  /// tokenizers refuses (OnlyFirst/OnlySecond whose sequence is too short or absent).
  void Apply(int64_t added, std::vector<int64_t>* a, std::vector<int64_t>* b) const;
};

struct Padding {
  bool enabled = false;
  std::optional<int64_t> fixed;  // else the batch's longest: one encoding is its own length
  int64_t multiple = 0;
  bool left = false;
  int64_t pad_id = 0;
  int64_t pad_type_id = 0;

  /// Reads tokenizer.json's `padding` (null: none).
  static Padding FromJson(const nlohmann::json& j, const std::string& path);
  /// Pads `e` as pad_encodings does for a batch of one.
  void Apply(Example* e) const;
};

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_POST_PROCESSORS_H_
