// Intervention values and the SPEC grammar. No LibTorch here: the parser is unit-tested
// and fuzzed without a model.
#include "synapse/intervention.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "util/number_text.h"
#include "synapse/error.h"

namespace synapse {
namespace {

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == sep) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  return parts;
}

bool ParseInt(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return false;
  for (size_t j = i; j < text.size(); ++j) {
    if (text[j] < '0' || text[j] > '9') return false;
  }
  errno = 0;
  long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno != 0) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

[[noreturn]] void Fail(int id, const std::string& spec, const std::string& what) {
  throw SpecError(id, "intervention \"" + spec + "\": " + what);
}

// "1,5,9-12" or "all"; ranges may not mix signs ("-3--1" is the last three).
Neurons ParseNeuronList(const std::string& spec, const std::string& text) {
  if (text == "all") return Neurons::All();
  if (text.empty()) Fail(303, spec, "empty neuron list (write \"all\" or e.g. 1,5,9-12)");
  std::vector<int64_t> indices;
  for (const std::string& item : Split(text, ',')) {
    int64_t single;
    if (ParseInt(item, &single)) {
      indices.push_back(single);
      continue;
    }
    // A range a-b: find the '-' that separates, skipping a leading minus sign.
    size_t dash = item.find('-', 1);
    int64_t a, b;
    if (dash == std::string::npos || !ParseInt(item.substr(0, dash), &a) || !ParseInt(item.substr(dash + 1), &b)) {
      Fail(303, spec, "\"" + item + "\" is not a neuron index or range like 9-12");
    }
    if ((a < 0) != (b < 0) || b < a) {
      Fail(303, spec, "range \"" + item + "\" must go upwards within one sign");
    }
    if (b - a >= (1 << 24)) Fail(303, spec, "range \"" + item + "\" is too large");
    for (int64_t i = a; i <= b; ++i) indices.push_back(i);
  }
  return Neurons::Of(std::move(indices));
}

}  // namespace

const char* PoolingName(Pooling pooling) {
  switch (pooling) {
    case Pooling::kFirst:
      return "first";
    case Pooling::kLast:
      return "last";
    case Pooling::kMean:
      return "mean";
  }
  return "?";
}

std::string Site::ToString() const {
  switch (kind_) {
    case Kind::kLayerIndex:
      return std::to_string(index_);
    case Kind::kLayerName:
      return name_;
    case Kind::kLogits:
      return "logits";
  }
  return "?";
}

std::vector<int64_t> Neurons::Resolve(int64_t width, const std::string& site) const {
  std::vector<int64_t> out;
  if (all_) {
    out.resize(static_cast<size_t>(width));
    for (int64_t i = 0; i < width; ++i) out[static_cast<size_t>(i)] = i;
    return out;
  }
  for (int64_t i : indices_) {
    int64_t r = i < 0 ? i + width : i;
    if (r < 0 || r >= width) {
      throw SpecError(305, "neuron " + std::to_string(i) + " is out of range for " + site + " (it has " +
                               std::to_string(width) + " neurons: 0.." + std::to_string(width - 1) + ")");
    }
    out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Neurons::ToString() const {
  if (all_) return "all";
  std::vector<int64_t> v = indices_;
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1 && (v[i] < 0) == (v[j + 1] < 0)) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

Intervention Intervention::Capture(Site site) {
  return Intervention(Op::kCapture, std::move(site), Neurons::All(), 0, {});
}
Intervention Intervention::Zero(Site site, Neurons neurons) {
  return Intervention(Op::kZero, std::move(site), std::move(neurons), 0, {});
}
Intervention Intervention::Constant(Site site, double value, Neurons neurons) {
  return Intervention(Op::kConstant, std::move(site), std::move(neurons), value, {});
}
Intervention Intervention::Mean(Site site, std::vector<float> means, Neurons neurons) {
  return Intervention(Op::kMean, std::move(site), std::move(neurons), 0, std::move(means));
}
Intervention Intervention::Scale(Site site, double factor, Neurons neurons) {
  return Intervention(Op::kScale, std::move(site), std::move(neurons), factor, {});
}
Intervention Intervention::Noise(Site site, double sigma, Neurons neurons) {
  return Intervention(Op::kNoise, std::move(site), std::move(neurons), sigma, {});
}

Intervention Intervention::Noise(Site site, std::vector<float> sigmas, Neurons neurons) {
  return Intervention(Op::kNoise, std::move(site), std::move(neurons), 1.0, std::move(sigmas));
}
Intervention Intervention::Shift(std::vector<float> shift) {
  return Intervention(Op::kShift, Site::Logits(), Neurons::All(), 0, std::move(shift));
}

std::string Intervention::ToString() const {
  std::string op;
  switch (op_) {
    case Op::kCapture:
      op = "capture";
      break;
    case Op::kZero:
      op = "zero";
      break;
    case Op::kConstant:
      op = "const=" + Shortest(value_);
      break;
    case Op::kMean:
      op = "mean";
      break;
    case Op::kScale:
      op = "scale=" + Shortest(value_);
      break;
    case Op::kNoise:
      op = values_.empty() ? "noise=" + Shortest(value_) : "noise=per-neuron";
      break;
    case Op::kShift:
      op = "shift";
      break;
  }
  std::string neurons;
  if (op_ == Op::kShift) {
    for (size_t i = 0; i < values_.size(); ++i) {
      neurons += (i ? "," : "") + Shortest(values_[i]);
    }
  } else {
    neurons = neurons_.ToString();
  }
  std::string out = site_.ToString() + ":" + op + ":" + neurons;
  if (positions_ == Positions::kPooled) out += ":pooled";
  return out;
}

// One pass over the SITE:OP[=ARG]:NEURONS[:POSITIONS] grammar, each part's errors where it
// is read (about 80 lines: the grammar is short, its error messages are not).
Intervention ParseIntervention(const std::string& spec) {
  std::vector<std::string> parts = Split(spec, ':');
  if (parts.size() < 3 || parts.size() > 4) {
    Fail(301, spec, "expected SITE:OP[=ARG]:NEURONS[:POSITIONS], e.g. 3:zero:1,5,9");
  }
  const std::string& site_text = parts[0];
  if (site_text.empty()) Fail(301, spec, "missing SITE (a layer index, a layer name or logits)");
  Site site = Site::Logits();
  int64_t index;
  if (site_text == "logits") {
    site = Site::Logits();
  } else if (ParseInt(site_text, &index)) {
    if (index > (1 << 20) || index < -(1 << 20)) Fail(304, spec, "layer index out of range");
    site = Site::Layer(static_cast<int>(index));
  } else {
    site = Site::Named(site_text);
  }

  const std::string& op_text = parts[1];
  size_t eq = op_text.find('=');
  std::string op = op_text.substr(0, eq);
  std::string arg = eq == std::string::npos ? "" : op_text.substr(eq + 1);
  bool has_arg = eq != std::string::npos;
  auto need_arg = [&](const char* what) {
    double v;
    if (!has_arg || !ParseDouble(arg, &v)) {
      Fail(302, spec, "\"" + op + "\" needs a number: " + op + "=" + what);
    }
    return v;
  };
  auto no_arg = [&]() {
    if (has_arg) Fail(302, spec, "\"" + op + "\" takes no argument");
  };

  Positions positions = Positions::kAll;
  if (parts.size() == 4) {
    if (parts[3] == "pooled") {
      positions = Positions::kPooled;
    } else if (parts[3] != "all") {
      Fail(301, spec, "POSITIONS must be all or pooled, not \"" + parts[3] + "\"");
    }
  }

  if (site.is_logits() != (op == "shift")) {
    Fail(302, spec, site.is_logits() ? "at logits the only operation is shift" : "shift applies only at logits");
  }
  if (op == "shift") {
    no_arg();
    if (parts.size() == 4) Fail(301, spec, "shift takes no POSITIONS");
    std::vector<float> shift;
    for (const std::string& item : Split(parts[2], ',')) {
      double v;
      if (!ParseDouble(item, &v)) {
        Fail(303, spec, "shift values must be numbers, one per class; got \"" + item + "\"");
      }
      shift.push_back(static_cast<float>(v));
    }
    return Intervention::Shift(std::move(shift));
  }

  Neurons neurons = ParseNeuronList(spec, parts[2]);
  Intervention out = Intervention::Zero(site);
  if (op == "zero") {
    no_arg();
    out = Intervention::Zero(site, neurons);
  } else if (op == "const") {
    out = Intervention::Constant(site, need_arg("V"), neurons);
  } else if (op == "scale") {
    out = Intervention::Scale(site, need_arg("F"), neurons);
  } else if (op == "noise") {
    double sigma = need_arg("SIGMA");
    if (sigma < 0) Fail(302, spec, "noise sigma must be ≥ 0");
    out = Intervention::Noise(site, sigma, neurons);
  } else if (op == "capture") {
    no_arg();
    out = Intervention::Capture(site);
  } else if (op == "mean") {
    Fail(302, spec, "mean needs per-neuron means; use Intervention::Mean from the library");
  } else {
    Fail(302, spec, "unknown operation \"" + op + "\" (zero, const=V, scale=F, noise=SIGMA, shift)");
  }
  return out.positions(positions);
}

}  // namespace synapse
