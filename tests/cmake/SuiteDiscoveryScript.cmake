# Run by synapse_discover_test_suites after each build: lists EXECUTABLE's test suites and
# writes OUTPUT, a ctest file with one test per suite.
execute_process(COMMAND ${EXECUTABLE} --gtest_list_tests
  WORKING_DIRECTORY ${WORKING_DIR}
  RESULT_VARIABLE result OUTPUT_VARIABLE listing ERROR_VARIABLE errors TIMEOUT 120)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --gtest_list_tests failed (${result}): ${errors}")
endif()
string(REPLACE "," ";" LABELS "${LABELS}")
string(REPLACE "\n" ";" lines "${listing}")
set(content "")
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end in '.' (a comment may follow: "Suite.  # TypeParam = ...").
  if(line MATCHES "^([^ #][^ ]*)\\.( .*)?$")
    set(suite ${CMAKE_MATCH_1})
    set(name "${TARGET}.${suite}")
    string(APPEND content
      "add_test([==[${name}]==] [==[${EXECUTABLE}]==] [==[--gtest_filter=${suite}.*]==] --gtest_brief=1)\n"
      "set_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIR}]==]"
      " TIMEOUT ${TIMEOUT} LABELS [==[${LABELS}]==])\n")
  endif()
endforeach()
if(content STREQUAL "")
  message(FATAL_ERROR "${EXECUTABLE} lists no test suite")
endif()
file(WRITE ${OUTPUT} "${content}")
