# kefu_module(NAME SOURCES a.cpp b.cpp DEPS kefu_common ... TESTS a_test.cpp ...
#             [SCHEMA schema.cpp] [FIXTURES kefu_redis] [BEAST])
# Builds the static library kefu_NAME from src/NAME and, when tests are on,
# one GoogleTest executable kefu_NAME_test from the *_test.cpp files beside it.
# SCHEMA: the module's migrations (storage/migration.h), built alone into
# kefu_NAME_schema, which depends on kefu_storage only, so that the app's
# schema (kefu_schema, app/schema.cpp) and any test can have every module's
# tables without linking the modules themselves.
# Its tests require the ctest fixture FIXTURES (one name: default kefu_pg, the
# throwaway PostgreSQL; kefu_redis the throwaway Redis; kefu_pg_redis both).
# BEAST: the library's sources use Boost.Asio/Beast (its precompiled header has them; kefu_pch).
function(kefu_module name)
  cmake_parse_arguments(M "BEAST" "FIXTURES;SCHEMA" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  if(NOT M_FIXTURES)
    set(M_FIXTURES kefu_pg)
  endif()
  add_library(kefu_${name} STATIC ${M_SOURCES})
  target_include_directories(kefu_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kefu_${name} PUBLIC ${M_DEPS})
  if(M_BEAST)
    kefu_pch(kefu_${name} BEAST)
  else()
    kefu_pch(kefu_${name})
  endif()
  if(M_SCHEMA)
    add_library(kefu_${name}_schema STATIC ${M_SCHEMA})
    target_include_directories(kefu_${name}_schema PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kefu_${name}_schema PUBLIC kefu_storage)
    kefu_pch(kefu_${name}_schema)
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
# The suite's sources start with the tests' precompiled header (kefu_pch TEST).
function(kefu_add_gtest target)
  cmake_parse_arguments(G "" "FIXTURES;TIMEOUT" "ENVIRONMENT" ${ARGN})
  kefu_test_code(${target})
  kefu_pch(${target} TEST)
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

# Precompiled headers. The system headers nearly every source includes (the
# standard library, nlohmann/json; GoogleTest in the suites; Boost.Asio and
# Beast where a target uses them) are parsed once per build directory into a
# precompiled header that every target reuses (REUSE_FROM), instead of once
# per source (≈ 3 s of CPU, 8 s with Beast). Four owners, one per set of
# flags and headers: kefu_pch (libraries, benchmarks), kefu_pch_beast,
# kefu_pch_test (the suites: -O1 in Release, GoogleTest's GTEST_HAS_PTHREAD)
# and kefu_pch_test_beast (the test servers and clients, which do not link
# GoogleTest). Measured on the 2-core VM (2026-12-08, other work beside it):
# the Release objects compiled both ways took 14 % less CPU (797 s against
# 925 s for 61 objects; the heaviest, -O3 Beast code, gains least: server.cpp
# 91 → 82 s); sources that include little pay ≈ 0.8 s to load the header.
# GCC uses a precompiled header only under the flags it was made with (macros
# such as _FILE_OFFSET_BITS, _REENTRANT, _OPENMP or __NO_MATH_ERRNO__, debug
# info); otherwise it parses the headers as usual and, with -Winvalid-pch
# (which CMake adds), warns "not used because ...": correct, only slower.
# Hence the project-wide -D_FILE_OFFSET_BITS=64 and -pthread in
# CMakeLists.txt, and the few targets and sources that opt out
# (DISABLE_PRECOMPILE_HEADERS, SKIP_PRECOMPILE_HEADERS).
# ccache caches these sources only with sloppiness = pch_defines,time_macros
# (otherwise it counts them "could not use precompiled header" and compiles).
# -DKEFU_PCH=OFF builds without them (e.g. to check that every source
# includes what it uses, which a precompiled header would hide).
set(KEFU_PCH_HEADERS
  <algorithm> <array> <atomic> <chrono> <cmath> <condition_variable> <cstdint> <cstdio> <cstdlib> <cstring>
  <deque> <filesystem> <fstream> <functional> <map> <memory> <mutex> <optional> <set> <sstream> <string>
  <string_view> <thread> <unordered_map> <utility> <vector> <nlohmann/json.hpp>)
set(KEFU_PCH_BEAST_HEADERS <boost/asio.hpp> <boost/beast.hpp>)

# kefu_pch_owners(): the targets that own the precompiled headers (object
# libraries of one empty source each); call once, before the modules.
function(kefu_pch_owners)
  if(NOT KEFU_PCH)
    return()
  endif()
  set(owners kefu_pch kefu_pch_beast)
  if(KEFU_BUILD_TESTS)
    list(APPEND owners kefu_pch_test kefu_pch_test_beast)
  endif()
  foreach(owner IN LISTS owners)
    add_library(${owner} OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_owner.cpp)
    target_link_libraries(${owner} PRIVATE nlohmann_json::nlohmann_json)
    set(headers ${KEFU_PCH_HEADERS})
    if(owner MATCHES "_beast$")
      target_link_libraries(${owner} PRIVATE Boost::headers)
      list(APPEND headers ${KEFU_PCH_BEAST_HEADERS})
    endif()
    if(owner MATCHES "^kefu_pch_test")
      kefu_test_code(${owner})
    endif()
    if(owner STREQUAL "kefu_pch_test")
      target_link_libraries(${owner} PRIVATE GTest::gtest)
      list(APPEND headers <gtest/gtest.h>)
    endif()
    target_precompile_headers(${owner} PRIVATE ${headers})
  endforeach()
endfunction()

# kefu_pch(TARGET [TEST] [BEAST]): TARGET's sources start with the
# precompiled header of its kind. TEST: test code (kefu_test_code) that links
# GoogleTest, or with BEAST test code that does not.
function(kefu_pch target)
  cmake_parse_arguments(P "TEST;BEAST" "" "" ${ARGN})
  if(NOT KEFU_PCH)
    return()
  endif()
  set(owner kefu_pch)
  if(P_TEST)
    string(APPEND owner _test)
  endif()
  if(P_BEAST)
    string(APPEND owner _beast)
  endif()
  target_precompile_headers(${target} REUSE_FROM ${owner})
endfunction()
