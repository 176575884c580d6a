#!/usr/bin/env bash
# Builds the example robustness suite (examples/spam_filter) with Synapse's sources pulled in
# by add_subdirectory(), as a project that vendors Synapse would, and runs part of it.
set -euo pipefail
build_dir=$1 source_dir=$2
scratch=$build_dir/tests/add_subdirectory_work
rm -rf "$scratch"
# SYNAPSE_CCACHE: Synapse's own targets through ccache, as in the main build (off by default
# for a project that pulls Synapse in); repeated runs hit the cache instead of rebuilding.
cmake -S "$source_dir/examples/spam_filter" -B "$scratch" -DSYNAPSE_SOURCE_DIR="$source_dir" \
  -DCMAKE_BUILD_TYPE=Release -DSYNAPSE_CCACHE=ON > /dev/null
cmake --build "$scratch" -j2 > /dev/null
# Only the example was built: no CLI, no tests, no benchmarks of Synapse's own.
[ ! -e "$scratch/synapse/synapse" ] && [ ! -d "$scratch/synapse/tests" ]
"$scratch/spam_filter_robustness" --gtest_brief=1 --gtest_filter='SpamFilter.ClassifiesMostMailCorrectly:SpamFilter.DeliversHardHam:Spec/*baseline*'
