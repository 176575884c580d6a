# synapse_discover_test_suites(TARGET [LABELS l...] [TIMEOUT s] [PER_TEST suite...]): one
# ctest per GoogleTest test suite of TARGET (`TARGET.Suite`, run as --gtest_filter=Suite.*),
# found after each build from --gtest_list_tests, as gtest_discover_tests finds single
# tests. The suites named in PER_TEST get one ctest per test instead (`TARGET.Suite.Test`):
# for suites of a few long, independent tests, so that ctest -j runs them side by side.
#
# Why not one process per test: each of Synapse's test processes pays about a second to
# load LibTorch, and the tests of a suite load the same fixture models, which a process
# keeps (tests/oracle_util.h). A suite per process keeps ctest's parallelism and a
# per-suite verdict, and pays both once per suite instead of once per test.
set(_synapse_suite_script ${CMAKE_CURRENT_LIST_DIR}/SuiteDiscoveryScript.cmake)

function(synapse_discover_test_suites target)
  cmake_parse_arguments(arg "" "TIMEOUT" "LABELS;PER_TEST" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 1500)
  endif()
  # Commas, not semicolons, on the command line (a COMMAND splits lists into arguments).
  string(REPLACE ";" "," labels "${arg_LABELS}")
  string(REPLACE ";" "," per_test "${arg_PER_TEST}")
  set(base ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites)
  set(tests_file ${base}_tests.cmake)
  set(include_file ${base}_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    BYPRODUCTS ${tests_file}
    COMMAND ${CMAKE_COMMAND} -D EXECUTABLE=$<TARGET_FILE:${target}> -D TARGET=${target}
            -D LABELS=${labels} -D PER_TEST=${per_test} -D TIMEOUT=${arg_TIMEOUT} -D WORKING_DIR=${CMAKE_CURRENT_BINARY_DIR}
            -D OUTPUT=${tests_file} -P ${_synapse_suite_script}
    VERBATIM)
  file(WRITE ${include_file}
    "if(EXISTS \"${tests_file}\")\n  include(\"${tests_file}\")\nelse()\n"
    "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
