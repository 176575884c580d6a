#!/usr/bin/env bash
# Installs the built project into a scratch prefix, builds tests/cmake_import against it
# with find_package(synapse), and runs the consumer on a fixture model.
set -euo pipefail
build_dir=$1 source_dir=$2 fixture=$3
# The consumers compile through ccache when it is there (paths hashed relative to the
# source root, as in the main build: cmake/SynapseCompilerCache.cmake).
launcher=()
if command -v ccache > /dev/null; then
  export CCACHE_BASEDIR=$source_dir
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
scratch=$build_dir/tests/cmake_import_work
rm -rf "$scratch"
cmake --install "$build_dir" --prefix "$scratch/prefix" > /dev/null
# The installed CLI runs as installed: no LD_LIBRARY_PATH (its RPATH finds PREFIX/lib).
env -u LD_LIBRARY_PATH "$scratch/prefix/bin/synapse" --help > /dev/null
cmake -S "$source_dir/tests/cmake_import" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" "${launcher[@]}" > /dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" cmake --build "$scratch/build" > /dev/null
out=$(LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/build/consumer" "$fixture")
echo "$out"
[ "$out" = "3 layers, 3 classes, changed=1" ]

# The installed CLI finds the embedded default model under <prefix>/share/synapse, not in
# the source tree it was built from.
report_dir=$scratch/default_model_report
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/prefix/bin/synapse" analyze --quiet --threads 1 \
  --layers -1 --k 1 --random-seeds 0 --noise none --weight-noise none --no-weight-space --out "$report_dir"
/usr/bin/python3 - "$report_dir/report.json" "$scratch/prefix/share/synapse/models/spam-tiny" <<'PY'
import json, os, sys
report = json.load(open(sys.argv[1]))
used = os.path.realpath(report["model"]["path"])
want = os.path.realpath(os.path.join(sys.argv[2], "model.pt"))
assert used == want, f"the installed synapse used {used}, not {want}"
print("installed default model:", used, "accuracy", round(report["baseline"]["accuracy"], 4))
PY

# The installed matchers, in the consumer's own GoogleTest binary, on that report.
SYNAPSE_REPORT="$report_dir/report.json" LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" \
  "$scratch/build/consumer_tests" --gtest_brief=1

# The example robustness suite (examples/spam_filter) built against the installed package:
# synapse::gtest_main, and SYNAPSE_MODELS_DIR pointing at the installed default model.
cmake -S "$source_dir/examples/spam_filter" -B "$scratch/example" -DCMAKE_PREFIX_PATH="$scratch/prefix" "${launcher[@]}" > /dev/null
grep -q "SPAM_TINY_DIR:PATH=$scratch/prefix/share/synapse/models/spam-tiny" "$scratch/example/CMakeCache.txt"
cmake --build "$scratch/example" > /dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/example/spam_filter_robustness" --gtest_brief=1 \
  --gtest_filter='SpamFilter.*'

# One process per test, two at a time: plain gtest_discover_tests (with an absolute and a
# relative --synapse_report_dir) and synapse_discover_tests all leave a junit.xml with
# every test. The helper's reset fixture also drops a stale
# part of an earlier run, which plain discovery keeps.
stale='{"part": {"format": 1, "finished_at": 1}, "tests": [{"suite": "Gone", "name": "Test", "status": "passed"}]}'
for way in plain helper; do
  mkdir -p "$scratch/build/$way-reports/parts"
  echo "$stale" > "$scratch/build/$way-reports/parts/old-1-1.json"
done
(cd "$scratch/build" && LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" \
  ctest -j2 -R '^(plain|helper|relative)\.' --output-on-failure > "$scratch/discover.log") || { cat "$scratch/discover.log"; exit 1; }
/usr/bin/python3 - "$scratch/build" <<'PY'
import os, sys, xml.etree.ElementTree as ET
want = {"Discovered." + t for t in ("Baseline", "TopFiveAblation", "Noise", "LogitShift")}
for way, extra in (("plain", {"Gone.Test"}), ("helper", set()), ("relative", set())):
    root = ET.parse(os.path.join(sys.argv[1], f"{way}-reports", "junit.xml")).getroot()
    got = {f"{c.get('classname')}.{c.get('name')}" for c in root.iter("testcase")}
    assert got == want | extra, f"{way}: junit.xml holds {sorted(got)}, not {sorted(want | extra)}"
    assert root.get("tests") == str(len(want | extra)) and root.get("failures") == "0", ET.tostring(root)[:300]
    print(f"ctest -j2, {way}: junit.xml holds {len(got)} tests")
PY
