// GPT-2's byte-to-character alphabet, as tokenizers' ByteLevel uses it (private).
//
//   ToByteLevel(" héllo") == "Ġh\u00c3\u00a9llo"   // each byte one printable character
#ifndef SYNAPSE_SRC_TOKENIZER_BYTE_LEVEL_H_
#define SYNAPSE_SRC_TOKENIZER_BYTE_LEVEL_H_

#include <string>

namespace synapse {

/// Every byte of `text` replaced by its byte-level character (UTF-8).
std::string ToByteLevel(const std::string& text);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_BYTE_LEVEL_H_
