#!/usr/bin/env bash
# Proves that a change leaves every report as it was: builds two commits side by side,
# runs the same commands with each (`synapse analyze` on the default model with the demo's
# grid, `synapse gate` on the example spec, the example robustness suite, and
# bench/compare_fixture_reports.sh's analysis of every fixture family), and compares the
# reports with bench/compare_reports.py --strict (timings, the environment and the two
# checkouts' paths aside; numbers to TOLERANCE, default 0) and junit.xml with its times
# taken out.
#
#   bash tests/scripts/same_reports.sh BASE_COMMIT [HEAD_COMMIT] [TOLERANCE]
#
# HEAD_COMMIT defaults to the working tree as it is (uncommitted changes included).
# Work happens under ${SAME_REPORTS_DIR:-/tmp/synapse-same-reports}; builds use ccache.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:?usage: same_reports.sh BASE_COMMIT [HEAD_COMMIT] [TOLERANCE]}
head=${2:-WORKTREE}
tolerance=${3:-0}
work=${SAME_REPORTS_DIR:-/tmp/synapse-same-reports}
mkdir -p "$work"

# A checkout of COMMIT (or the working tree) under $work/NAME, built.
checkout_and_build() {
  local commit=$1 name=$2 dir=$work/$2
  if [ "$commit" = WORKTREE ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$dir")
  else
    rm -rf "$dir"
    git -C "$root" worktree prune
    git -C "$root" worktree add -q --detach "$dir" "$commit"
  fi
  cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DSYNAPSE_BUILD_BENCHMARKS=OFF > "$work/$name.configure.log"
  cmake --build "$dir/build" -j "$(nproc)" --target synapse_cli spam_filter_robustness > "$work/$name.build.log"
}

# Runs the default model's analysis, the gate and the example suite with the build in
# $work/NAME; reports go to $work/NAME-out.
run_all() {
  local name=$1 cli=$work/$1/build/synapse out=$work/$1-out
  rm -rf "$out" && mkdir -p "$out"
  export SYNAPSE_CACHE_DIR=$out/cache
  (cd "$work/$name" &&
    "$cli" analyze --out "$out/default" --k 10%,25%,50% --random-seeds 3 --noise 0.5,1.0 \
      --weight-noise 0.05,0.25 --weight-noise-seeds 2 --threads 1 > "$out/default.log" 2>&1)
  (cd "$work/$name/examples/spam_filter" &&
    "$cli" gate --spec gate.json --out "$out/gate" --threads 1 > "$out/gate.log" 2>&1 || true)
  (cd "$work/$name" &&
    "$work/$name/build/examples/spam_filter/spam_filter_robustness" --gtest_brief=1 \
      --synapse_report_dir="$out/suite" --synapse_threads=1 > "$out/suite.log" 2>&1 || true)
}

echo "same_reports: building $base and $head"
checkout_and_build "$base" base
checkout_and_build "$head" head
cmake --build "$work/head/build" --target synapse_fixtures > "$work/fixtures.build.log"
echo "same_reports: running the commands with each build"
run_all base
run_all head
status=0
for report in default/report.json gate/report.json suite/report.json; do
  echo "== $report"
  /usr/bin/python3 "$root/bench/compare_reports.py" --strict --tolerance "$tolerance" \
    --path "$work/base-out=$work/head-out" --path "$work/base=$work/head" \
    "$work/base-out/$report" "$work/head-out/$report" || status=1
done
for junit in gate/junit.xml suite/junit.xml; do
  if diff <(sed -E 's/ (time|timestamp)="[^"]*"//g; s|'"$work"'/base|'"$work"'/head|g' "$work/base-out/$junit") \
      <(sed -E 's/ (time|timestamp)="[^"]*"//g' "$work/head-out/$junit") > /dev/null; then
    echo "== $junit: the same"
  else
    echo "== $junit: DIFFERS"
    status=1
  fi
done
# Every fixture family, both builds on the head's fixtures.
COMPARE_ARGS=--strict bash "$root/bench/compare_fixture_reports.sh" "$work/base/build" "$work/head/build" \
  "$work/fixture-reports" || status=1
if [ $status -eq 0 ]; then
  echo "same_reports: identical (timings, environment and paths aside)"
else
  echo "same_reports: reports differ (above)"
fi
exit $status
