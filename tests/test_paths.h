// Where the tests find what the build made: fixtures, the CLI, reference encodings, the
// corpus. Force-included into every test (tests/CMakeLists.txt); the values live in one
// generated file (test_paths.cpp in the build directory), so no test's compile line names
// a path, and a checkout in another folder hits the same ccache entries.
//
//   Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
#ifndef SYNAPSE_TESTS_TEST_PATHS_H_
#define SYNAPSE_TESTS_TEST_PATHS_H_

namespace synapse_test_paths {
extern const char* const kFixtureDir;        // TorchScript fixtures, oracle.json (make_fixtures.py)
extern const char* const kCli;               // the synapse executable
extern const char* const kSourceDir;         // the source tree
extern const char* const kModelDir;          // models/spam-tiny in the source tree
extern const char* const kTestTmp;           // scratch space under the build directory
extern const char* const kTokenizerRefDir;   // Hugging Face reference encodings
extern const char* const kNodePath;          // node_modules with the tokenizers binding
extern const char* const kTokenizerScripts;  // tests/tokenizer_parity
extern const char* const kCorpusDir;         // the converted SpamAssassin corpus
}  // namespace synapse_test_paths

// A target that still defines one of these on its command line keeps its own value.
#ifndef SYNAPSE_FIXTURE_DIR
#define SYNAPSE_FIXTURE_DIR (::synapse_test_paths::kFixtureDir)
#endif
#ifndef SYNAPSE_CLI
#define SYNAPSE_CLI (::synapse_test_paths::kCli)
#endif
#ifndef SYNAPSE_SOURCE_DIR
#define SYNAPSE_SOURCE_DIR (::synapse_test_paths::kSourceDir)
#endif
#ifndef SYNAPSE_MODEL_DIR
#define SYNAPSE_MODEL_DIR (::synapse_test_paths::kModelDir)
#endif
#ifndef SYNAPSE_TEST_TMP
#define SYNAPSE_TEST_TMP (::synapse_test_paths::kTestTmp)
#endif
#ifndef SYNAPSE_TOKENIZER_REF_DIR
#define SYNAPSE_TOKENIZER_REF_DIR (::synapse_test_paths::kTokenizerRefDir)
#endif
#ifndef SYNAPSE_NODE_PATH
#define SYNAPSE_NODE_PATH (::synapse_test_paths::kNodePath)
#endif
#ifndef SYNAPSE_TOKENIZER_SCRIPTS
#define SYNAPSE_TOKENIZER_SCRIPTS (::synapse_test_paths::kTokenizerScripts)
#endif
#ifndef SYNAPSE_CORPUS_DIR
#define SYNAPSE_CORPUS_DIR (::synapse_test_paths::kCorpusDir)
#endif

#endif  // SYNAPSE_TESTS_TEST_PATHS_H_
