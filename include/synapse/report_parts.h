// Reports assembled from parts: each process of a run (one per test under
// gtest_discover_tests, one per shard, one per CI job) writes the report of what it ran as
// a part, and the parts are joined into one report.json, junit.xml and report.html.
//
//   // in each process, when its tests have run (synapse::gtest does this):
//   synapse::WriteReportPart(run_report, "reports");   // reports/parts/<binary>-<pid>-<ms>.json
//   // and joins reports/parts/*.json into reports/{report.json,junit.xml,report.html}
//
//   // or later, from any parts or whole reports (what `synapse merge` does):
//   nlohmann::ordered_json joined = synapse::MergeReports(synapse::ReadReportParts("reports"));
//
// A part is a report as the GoogleTest reporters write it (the analysis report's layout plus
// "tests") with a "part" object: {"format": 1, "binary", "pid", "finished_at" (Unix seconds)}.
// Joining keeps each test once (suite, name and value_param; the latest part wins, so a
// rerun replaces its tests), drops the parts none of whose tests survive (a stale earlier
// run), and unites what the models under test measured (per model, data and options: the
// baseline, the probes and every layer's experiments, the other queries). Shards of
// `synapse gate` and `synapse analyze` ("gate": {"shard": ...}, "shard") join in shard
// order into the report one unsharded run writes, timings aside: gate totals add up, the
// analysis's weight space comes from shard 0 and its summary's most fragile layer and
// class are the worst over the shards.
#ifndef SYNAPSE_REPORT_PARTS_H_
#define SYNAPSE_REPORT_PARTS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace synapse {

/// The version of the part format ("part": {"format": ...}).
inline constexpr int kReportPartFormat = 1;

/// One report from parts (or from whole reports: a report without "part" counts as one
/// finished at time 0). The first model's measurements are at the top level, any other
/// model's under "more_models"; "tests" holds every surviving test, in the parts' order
/// (by finished_at); "parts" says how many parts were joined. Empty input: an empty object.
nlohmann::ordered_json MergeReports(const std::vector<nlohmann::ordered_json>& reports);

/// The parts under `dir`/parts (*.json, by name). A part that cannot be read or parsed is
/// skipped with a line on stderr: a crashed writer must not lose the others' results.
std::vector<nlohmann::ordered_json> ReadReportParts(const std::string& dir);

/// Writes `report` (given a "part" header when it has none) as `dir`/parts/<name>.json,
/// <name> = `binary`-<pid>-<milliseconds>, then, under an exclusive lock on
/// `dir`/parts/.lock, joins every part there and writes report.json, report.html and
/// junit.xml into `dir` (WriteReportFiles), deleting the parts that are stale. Whichever
/// process joins last leaves the complete reports. Returns how many tests the joined
/// report holds. Throws DataError 208 naming what cannot be written.
size_t WriteReportPart(nlohmann::ordered_json report, const std::string& dir, const std::string& binary);

}  // namespace synapse

#endif  // SYNAPSE_REPORT_PARTS_H_
