cmake_minimum_required(VERSION 3.16)
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
string(REPLACE "," ";" PER_TEST "${PER_TEST}")
set(content "")
set(suite "")
macro(add_one name filter)
  string(APPEND content
    "add_test([==[${name}]==] [==[${EXECUTABLE}]==] [==[--gtest_filter=${filter}]==] --gtest_brief=1)\n"
    "set_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIR}]==]"
    " TIMEOUT ${TIMEOUT} LABELS [==[${LABELS}]==])\n")
endmacro()
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end in '.' (a comment may follow: "Suite.  # TypeParam = ...");
  # test lines are indented by two spaces ("  Test  # GetParam() = ...").
  if(line MATCHES "^([^ #][^ ]*)\\.( .*)?$")
    set(suite ${CMAKE_MATCH_1})
    if(NOT suite IN_LIST PER_TEST)
      add_one("${TARGET}.${suite}" "${suite}.*")
    endif()
  elseif(suite IN_LIST PER_TEST AND line MATCHES "^  ([^ ]+)")
    add_one("${TARGET}.${suite}.${CMAKE_MATCH_1}" "${suite}.${CMAKE_MATCH_1}")
  endif()
endforeach()
if(content STREQUAL "")
  message(FATAL_ERROR "${EXECUTABLE} lists no test suite")
endif()
file(WRITE ${OUTPUT} "${content}")
