// ReadRows on CSV and TSV (RFC 4180 quoting): any bytes end in rows or a synapse::Error.
#include "fuzz_input.h"
#include "synapse/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* name : {"rows.csv", "rows.tsv"}) {
    const std::string path = synapse::fuzz::WriteInput(name, data, size);
    synapse::fuzz::ExpectCleanErrors([&] {
      synapse::ReadResult r = synapse::ReadRows(path, synapse::ReadOptions().text_pair_column("text_pair"));
      synapse::ResolveLabels(path, {"ham", "spam"}, &r.rows);
    });
  }
  return 0;
}
