// ReadRows on JSONL, then label resolution: any bytes end in rows or a synapse::Error.
#include "fuzz_input.h"
#include "synapse/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = synapse::fuzz::WriteInput("rows.jsonl", data, size);
  for (bool skip : {false, true}) {
    synapse::fuzz::ExpectCleanErrors([&] {
      synapse::ReadResult r = synapse::ReadRows(path, synapse::ReadOptions().skip_bad_rows(skip));
      synapse::ResolveLabels(path, {"ham", "hard_ham", "spam"}, &r.rows);
    });
  }
  return 0;
}
