# synapse_discover_tests(): registers a robustness test binary with ctest, one test per
# GoogleTest test (gtest_discover_tests), with its reports joined in one directory.
#
#   find_package(synapse CONFIG REQUIRED)      # or add_subdirectory(synapse)
#   add_executable(robustness robustness_test.cpp)
#   target_link_libraries(robustness PRIVATE synapse::gtest GTest::gtest_main)
#   synapse_discover_tests(robustness REPORT_DIR ${CMAKE_BINARY_DIR}/robustness-reports)
#
# Every test process writes its part of the reports into REPORT_DIR/parts and joins the
# parts into REPORT_DIR/junit.xml, report.json and report.html (docs/robustness-tests.md),
# so `ctest -j8` leaves reports with every test. A ctest fixture test,
# <target>.synapse_reports_reset, runs first and removes the parts of an earlier ctest run,
# so the reports hold this run's tests only (it runs with any -R that selects one of them).
#
# REPORT_DIR defaults to ${CMAKE_CURRENT_BINARY_DIR}/<target>-reports (relative: to that
# directory). Any other argument is gtest_discover_tests's own (EXTRA_ARGS, PROPERTIES,
# TEST_PREFIX, DISCOVERY_TIMEOUT, ...) and passes through.
include_guard(GLOBAL)
include(GoogleTest)

function(synapse_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "REPORT_DIR" "EXTRA_ARGS;PROPERTIES")
  if(NOT arg_REPORT_DIR)
    set(arg_REPORT_DIR ${target}-reports)
  endif()
  get_filename_component(dir "${arg_REPORT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(fixture synapse_reports_${target})
  add_test(NAME ${target}.synapse_reports_reset
           COMMAND ${CMAKE_COMMAND} -E remove_directory ${dir}/parts)
  set_tests_properties(${target}.synapse_reports_reset PROPERTIES FIXTURES_SETUP ${fixture})
  gtest_discover_tests(${target} ${arg_UNPARSED_ARGUMENTS}
    EXTRA_ARGS --synapse_report_dir=${dir} ${arg_EXTRA_ARGS}
    PROPERTIES FIXTURES_REQUIRED ${fixture} ${arg_PROPERTIES})
endfunction()
