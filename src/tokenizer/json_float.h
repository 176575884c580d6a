// Floats as Hugging Face tokenizers reads them from tokenizer.json (private).
//
//   double s = SerdeJsonFloat("-12.096728509555787");   // serde_json's value, bit for bit
//   std::vector<std::string> raw = UnigramScoreTexts(file_text);  // model.vocab's scores
//
// serde_json (without its float_roundtrip feature, as tokenizers builds it) converts a
// decimal with up to 19 significant digits to f64 by one integer-to-float conversion and
// one multiplication or division by a power of ten: two roundings, so some scores are one
// ulp away from the correctly rounded value nlohmann/json gives. Unigram's Viterbi breaks
// ties between equal-looking paths on those last bits, so Synapse reads scores the same way.
#ifndef SYNAPSE_SRC_TOKENIZER_JSON_FLOAT_H_
#define SYNAPSE_SRC_TOKENIZER_JSON_FLOAT_H_

#include <optional>
#include <string>
#include <vector>

namespace synapse {

/// serde_json's f64 for a JSON number literal; nullopt if `text` is not one.
std::optional<double> SerdeJsonFloat(const std::string& text);

/// The literal text of every score in the file's model.vocab ([piece, score] pairs), in
/// order; empty if the file has none (or is not a Unigram file).
std::vector<std::string> UnigramScoreTexts(const std::string& file_text);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_JSON_FLOAT_H_
