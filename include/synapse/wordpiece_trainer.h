// Training a WordPiece vocabulary from raw texts, and saving it as a Hugging Face
// tokenizer.json that both synapse::Tokenizer::Load and Hugging Face `tokenizers` load.
//
//   std::vector<std::string> texts = ...;                   // e.g. raw e-mail messages
//   synapse::WordPieceVocabulary vocab = synapse::TrainWordPiece(
//       texts, synapse::WordPieceTrainerOptions().vocab_size(8000).min_frequency(3));
//   synapse::SaveTokenizerJson(vocab, "tokenizer.json");
//   auto tok = synapse::Tokenizer::Load("tokenizer.json");  // same ids as Hugging Face
//
// The algorithm is Hugging Face's WordPieceTrainer (a BPE trainer whose continuing
// pieces carry the "##" prefix), made deterministic:
//  1. Each text goes through BertNormalizer (clean_text, handle_chinese_chars; lowercase
//     and strip accents when `lowercase`) and BertPreTokenizer; identical words are counted.
//  2. The alphabet is the `limit_alphabet` most frequent characters (occurrences anywhere
//     in a word; ties kept by smaller code point). A word keeps only the characters of the
//     alphabet: its first character as itself, later ones as "##c". Words with a character
//     left out encode as [UNK].
//  3. The most frequent pair of adjacent pieces is merged, left + right without its "##"
//     ("##e" + "##s" = "##es", "l" + "##ow" = "low"), in every word, then again, until the
//     vocabulary holds `vocab_size` tokens or no pair is seen `min_frequency` times.
//     Ties go to the pair whose left piece, then right piece, is smaller byte-wise, so the
//     result depends on the texts' words and counts only, not on their order or on hashing
//     (Hugging Face breaks ties by internal ids, which vary from run to run).
// The vocabulary lists [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4), the alphabet's characters
// (most frequent first, ties by code point), the same characters as "##c" where they occur
// inside a word, then the merged pieces in the order they were made. A merge that rebuilds
// an existing piece from other parts adds nothing.
#ifndef SYNAPSE_WORDPIECE_TRAINER_H_
#define SYNAPSE_WORDPIECE_TRAINER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/options.h"

namespace synapse {

struct WordPieceTrainerOptions {
  /// Tokens in the vocabulary, the five special tokens and the alphabet included.
  SYNAPSE_ARG(int64_t, vocab_size) = 4096;
  /// A pair of pieces is merged only if it occurs at least this often in the texts.
  SYNAPSE_ARG(int64_t, min_frequency) = 2;
  /// The most frequent characters kept as the initial alphabet; words containing any
  /// other character become [UNK], as in Hugging Face.
  SYNAPSE_ARG(int64_t, limit_alphabet) = 1000;
  /// Uncased: lowercase and strip accents, as BertNormalizer(lowercase=true).
  SYNAPSE_ARG(bool, lowercase) = true;
  /// Longer words encode as [UNK] (written to the tokenizer.json; training sees them all).
  SYNAPSE_ARG(int64_t, max_input_chars_per_word) = 100;
  /// Longest encoding, special tokens included: the tokenizer.json's truncation.
  SYNAPSE_ARG(int64_t, max_length) = 128;
};

/// A trained WordPiece vocabulary and the settings its tokenizer.json records.
struct WordPieceVocabulary {
  /// The tokens; a token's id is its index. [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4.
  std::vector<std::string> tokens;
  bool lowercase = true;
  int64_t max_input_chars_per_word = 100;
  int64_t max_length = 128;
};

/// Trains a vocabulary on `texts` (valid UTF-8). Throws TokenizerError 503 naming the text
/// with invalid UTF-8, 504 for an option out of range, a `vocab_size` below the special
/// tokens plus the alphabet, or texts without a single word.
WordPieceVocabulary TrainWordPiece(const std::vector<std::string>& texts, const WordPieceTrainerOptions& options = {});

/// Writes `vocabulary` to `path` as a Hugging Face tokenizer.json (BertNormalizer,
/// BertPreTokenizer, WordPiece, [CLS] $A [SEP] templates, LongestFirst truncation),
/// atomically: a reader sees the old file or the whole new one. Throws TokenizerError 504
/// when the special tokens are not ids 0-4 or a token repeats, 505 when `path` cannot be
/// written.
void SaveTokenizerJson(const WordPieceVocabulary& vocabulary, const std::string& path);

}  // namespace synapse

#endif  // SYNAPSE_WORDPIECE_TRAINER_H_
