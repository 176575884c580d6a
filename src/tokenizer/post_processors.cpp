// Post-processors, truncation and padding from tokenizer.json.
#include "tokenizer/post_processors.h"

#include <algorithm>

#include "synapse/error.h"
#include "tokenizer/components.h"

namespace synapse {
namespace {

using nlohmann::json;

std::vector<TemplateItem> ParseTemplate(const json& items, const json& special, const std::string& path) {
  if (!items.is_array()) RefuseSetting(path, "must be a list of template items");
  std::vector<TemplateItem> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const json& item = items[i];
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (item.contains("Sequence")) {
      const json& s = item["Sequence"];
      const std::string id = s.value("id", std::string("A"));
      if (id != "A" && id != "B") RefuseSetting(at, "a sequence is A or B, not " + id);
      out.push_back({true, id == "B" ? 1 : 0, {}, s.value("type_id", int64_t{0})});
    } else if (item.contains("SpecialToken")) {
      const json& s = item["SpecialToken"];
      const std::string name = s.at("id").get<std::string>();
      if (!special.is_object() || !special.contains(name)) {
        RefuseSetting(at, "special token \"" + name + "\" is not in special_tokens");
      }
      out.push_back({false, 0, special[name].at("ids").get<std::vector<int64_t>>(), s.value("type_id", int64_t{0})});
    } else {
      RefuseSetting(at, "unknown template item " + item.dump());
    }
  }
  return out;
}

int64_t TokenId(const json& pair, const std::string& path) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer()) RefuseSetting(path, "must be [token, id]");
  return pair[1].get<int64_t>();
}

}  // namespace

PostProcessor PostProcessor::FromJson(const json& j, const std::string& path) {
  PostProcessor p;
  if (j.is_null()) return p;
  const std::string type = ComponentType(j, path);
  if (type == "Sequence") {
    if (!j.contains("processors") || !j["processors"].is_array()) RefuseSetting(path + ".processors", "must be a list");
    bool adds = false;
    for (size_t i = 0; i < j["processors"].size(); ++i) {
      const std::string at = path + ".processors[" + std::to_string(i) + "]";
      PostProcessor step = FromJson(j["processors"][i], at);
      if (ComponentType(j["processors"][i], at) == "ByteLevel") continue;
      if (adds) RefuseSetting(at, "a second post-processor that adds special tokens is not supported");
      adds = true;
      p = std::move(step);
    }
    return p;
  }
  if (type == "ByteLevel") return p;  // it only trims offsets
  if (type == "TemplateProcessing") {
    const json special = j.value("special_tokens", json::object());
    p.single_ = ParseTemplate(j.value("single", json()), special, path + ".single");
    p.pair_ = ParseTemplate(j.value("pair", json()), special, path + ".pair");
    return p;
  }
  if (type == "BertProcessing") {
    const int64_t cls = TokenId(j.value("cls", json()), path + ".cls"),
                  sep = TokenId(j.value("sep", json()), path + ".sep");
    p.single_ = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0}};
    p.pair_ = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0}, {true, 1, {}, 1}, {false, 0, {sep}, 1}};
    return p;
  }
  if (type == "RobertaProcessing") {
    const int64_t cls = TokenId(j.value("cls", json()), path + ".cls"),
                  sep = TokenId(j.value("sep", json()), path + ".sep");
    p.single_ = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0}};
    // RoBERTa has one segment: type id 0 throughout, the pair included.
    p.pair_ = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0},
               {false, 0, {sep}, 0}, {true, 1, {}, 0}, {false, 0, {sep}, 0}};
    return p;
  }
  RefuseComponent(path, type, "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence");
}

int64_t PostProcessor::AddedCount(bool pair) const {
  int64_t n = 0;
  for (const TemplateItem& item : pair ? pair_ : single_)
    n += item.is_sequence ? 0 : static_cast<int64_t>(item.ids.size());
  return n;
}

Example PostProcessor::Apply(const std::vector<int64_t>& a, const std::vector<int64_t>* b) const {
  Example out;
  for (const TemplateItem& item : b ? pair_ : single_) {
    const std::vector<int64_t>& ids = item.is_sequence ? (item.sequence == 0 ? a : *b) : item.ids;
    out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
    out.token_type_ids.insert(out.token_type_ids.end(), ids.size(), item.type_id);
  }
  out.attention_mask.assign(out.input_ids.size(), 1);
  return out;
}

Truncation Truncation::FromJson(const json& j, const std::string& path) {
  Truncation t;
  if (j.is_null()) return t;
  if (!j.is_object()) RefuseSetting(path, "must be an object or null");
  const int64_t stride = j.value("stride", int64_t{0});
  if (stride != 0)
    RefuseSetting(path + ".stride", "overflowing windows (stride " + std::to_string(stride) + ") are not supported");
  t.max_length = j.value("max_length", int64_t{512});
  if (t.max_length < 0) RefuseSetting(path + ".max_length", "must not be negative");
  const std::string strategy = j.value("strategy", std::string("LongestFirst"));
  if (strategy == "LongestFirst")
    t.strategy = Strategy::kLongestFirst;
  else if (strategy == "OnlyFirst")
    t.strategy = Strategy::kOnlyFirst;
  else if (strategy == "OnlySecond")
    t.strategy = Strategy::kOnlySecond;
  else
    RefuseSetting(path + ".strategy", "\"" + strategy + "\" is not LongestFirst, OnlyFirst or OnlySecond");
  const std::string direction = j.value("direction", std::string("Right"));
  if (direction != "Right" && direction != "Left") RefuseSetting(path + ".direction", "must be Left or Right");
  t.from_left = direction == "Left";
  return t;
}

void Truncation::Apply(int64_t added, std::vector<int64_t>* a, std::vector<int64_t>* b) const {
  const int64_t max = std::max<int64_t>(0, max_length - added);
  auto cut = [&](std::vector<int64_t>* v, int64_t keep) {
    const int64_t n = static_cast<int64_t>(v->size());
    if (keep >= n) return;
    if (from_left)
      v->erase(v->begin(), v->begin() + (n - keep));
    else
      v->resize(static_cast<size_t>(keep));
  };
  if (max == 0) {
    cut(a, 0);
    if (b) cut(b, 0);
    return;
  }
  const int64_t total = static_cast<int64_t>(a->size() + (b ? b->size() : 0));
  if (total <= max) return;
  const int64_t to_remove = total - max;
  if (strategy == Strategy::kLongestFirst) {
    if (!b) {
      cut(a, max);
      return;
    }
    const auto [n1, n2] = LongestFirstLengths(static_cast<int64_t>(a->size()), static_cast<int64_t>(b->size()), max);
    cut(a, n1);
    cut(b, n2);
    return;
  }
  std::vector<int64_t>* target = strategy == Strategy::kOnlyFirst ? a : b;
  if (!target) {
    throw TokenizerError(507, "truncation: the text needs " + std::to_string(to_remove) +
                                  " fewer tokens, and the OnlySecond strategy truncates only a second sequence");
  }
  const int64_t n = static_cast<int64_t>(target->size());
  if (n <= to_remove) {
    throw TokenizerError(507,
                         "truncation: " + std::string(strategy == Strategy::kOnlyFirst ? "OnlyFirst" : "OnlySecond") +
                             " would have to remove " + std::to_string(to_remove) + " tokens from a sequence of " +
                             std::to_string(n));
  }
  cut(target, n - to_remove);
}

Padding Padding::FromJson(const json& j, const std::string& path) {
  Padding p;
  if (j.is_null()) return p;
  if (!j.is_object()) RefuseSetting(path, "must be an object or null");
  p.enabled = true;
  const json strategy = j.value("strategy", json("BatchLongest"));
  if (strategy.is_object() && strategy.contains("Fixed") && strategy["Fixed"].is_number_integer()) {
    p.fixed = strategy["Fixed"].get<int64_t>();
  } else if (strategy != json("BatchLongest")) {
    RefuseSetting(path + ".strategy", "must be \"BatchLongest\" or {\"Fixed\": N}, not " + strategy.dump());
  }
  const json multiple = j.value("pad_to_multiple_of", json());
  if (multiple.is_number_integer()) p.multiple = multiple.get<int64_t>();
  const std::string direction = j.value("direction", std::string("Right"));
  if (direction != "Right" && direction != "Left") RefuseSetting(path + ".direction", "must be Left or Right");
  p.left = direction == "Left";
  p.pad_id = j.value("pad_id", int64_t{0});
  p.pad_type_id = j.value("pad_type_id", int64_t{0});
  return p;
}

void Padding::Apply(Example* e) const {
  if (!enabled) return;
  const int64_t n = static_cast<int64_t>(e->input_ids.size());
  int64_t target = fixed ? *fixed : n;
  if (multiple > 0 && target % multiple > 0) target += multiple - target % multiple;
  if (target <= n) return;
  const size_t pad = static_cast<size_t>(target - n);
  auto extend = [&](std::vector<int64_t>* v, int64_t value) {
    if (left)
      v->insert(v->begin(), pad, value);
    else
      v->insert(v->end(), pad, value);
  };
  extend(&e->input_ids, pad_id);
  extend(&e->token_type_ids, pad_type_id);
  extend(&e->attention_mask, 0);
}

}  // namespace synapse
