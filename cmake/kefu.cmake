# kefu_module(NAME SOURCES a.cpp b.cpp DEPS kefu_common ... TESTS a_test.cpp ...
#             [SCHEMA schema.cpp] [FIXTURES kefu_redis])
# Builds the static library kefu_NAME from src/NAME and, when tests are on,
# one GoogleTest executable kefu_NAME_test from the *_test.cpp files beside it.
# SCHEMA: the module's migrations (storage/migration.h), built alone into
# kefu_NAME_schema, which depends on kefu_storage only, so that the app's
# schema (kefu_schema, app/schema.cpp) and any test can have every module's
# tables without linking the modules themselves.
# Its tests require the ctest fixture FIXTURES (one name: default kefu_pg, the
# throwaway PostgreSQL; kefu_redis the throwaway Redis; kefu_pg_redis both).
function(kefu_module name)
  cmake_parse_arguments(M "" "FIXTURES;SCHEMA" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  if(NOT M_FIXTURES)
    set(M_FIXTURES kefu_pg)
  endif()
  add_library(kefu_${name} STATIC ${M_SOURCES})
  target_include_directories(kefu_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kefu_${name} PUBLIC ${M_DEPS})
  if(M_SCHEMA)
    add_library(kefu_${name}_schema STATIC ${M_SCHEMA})
    target_include_directories(kefu_${name}_schema PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kefu_${name}_schema PUBLIC kefu_storage)
    target_link_libraries(kefu_${name} PUBLIC kefu_${name}_schema)
  endif()
  # Only test files that exist (a module being written may list one early).
  set(existing_tests "")
  foreach(t IN LISTS M_TESTS)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t})
      list(APPEND existing_tests ${t})
    endif()
  endforeach()
  set(M_TESTS ${existing_tests})
  if(KEFU_BUILD_TESTS AND M_TESTS)
    add_executable(kefu_${name}_test ${M_TESTS})
    target_link_libraries(kefu_${name}_test PRIVATE kefu_${name} ${M_TEST_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    kefu_add_gtest(kefu_${name}_test FIXTURES ${M_FIXTURES})
  endif()
endfunction()

# kefu_add_gtest(TARGET [FIXTURES fixture] [TIMEOUT seconds] [ENVIRONMENT "K=V" ...])
# One ctest test per GoogleTest binary: the whole suite runs in one process,
# which loads the demo shop, trains the knowledge base's classifier and starts
# its servers once per suite instead of once per test case (a process per
# case made ctest start ~980 processes, a few seconds of CPU each for the
# server suites). ctest --output-on-failure prints the failing cases in full.
# FIXTURES: the ctest fixture the suite needs (kefu_pg, kefu_redis, kefu_pg_redis).
function(kefu_add_gtest target)
  cmake_parse_arguments(G "" "FIXTURES;TIMEOUT" "ENVIRONMENT" ${ARGN})
  kefu_test_code(${target})
  if(NOT G_TIMEOUT)
    set(G_TIMEOUT 900)
  endif()
  add_test(NAME ${target} COMMAND ${target} --gtest_brief=1)
  set_tests_properties(${target} PROPERTIES ENVIRONMENT "KEFU_SOURCE_DIR=${PROJECT_SOURCE_DIR};${G_ENVIRONMENT}"
                       TIMEOUT ${G_TIMEOUT})
  if(G_FIXTURES)
    set_tests_properties(${target} PROPERTIES FIXTURES_REQUIRED ${G_FIXTURES})
  endif()
endfunction()

# Test-only code (the suites, fake servers, test clients) builds at -O1 in
# Release: a third less compile time for some 40 % of the build's objects (the
# Boost.Beast test clients most), while what it tests, the libraries, stays -O3.
function(kefu_test_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>)
endfunction()
