#!/usr/bin/env bash
# Installs the built project into a scratch prefix, builds tests/cmake_import against it
# with find_package(synapse), and runs the consumer on a fixture model.
set -euo pipefail
build_dir=$1 source_dir=$2 fixture=$3
scratch=$build_dir/tests/cmake_import_work
rm -rf "$scratch"
cmake --install "$build_dir" --prefix "$scratch/prefix" > /dev/null
cmake -S "$source_dir/tests/cmake_import" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" > /dev/null
cmake --build "$scratch/build" > /dev/null
out=$(LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/build/consumer" "$fixture")
echo "$out"
[ "$out" = "3 layers, 3 classes, changed=1" ]
