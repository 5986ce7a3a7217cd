# Unit tests: every tests/unit/test_*.c is one cmocka program over the
# libraries, label "unit".
file(GLOB KH_UNIT_TESTS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${KH_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE kaohe_infra PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE
    KH_SOURCE_DIR="${CMAKE_SOURCE_DIR}" KH_EXAMPLES_DIR="${CMAKE_SOURCE_DIR}/tests/data/example")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()

# Tools the end-to-end tests drive the services with (not installed).
add_executable(kh_flood tests/tools/kh_flood.c)
target_link_libraries(kh_flood PRIVATE kaohe_infra)

# End-to-end tests: shell scripts that start the real services with
# `kaohe up` in a temporary directory, label "e2e".
file(GLOB KH_E2E_TESTS ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.sh)
foreach(src ${KH_E2E_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME e2e_${name} COMMAND bash ${src})
  set_tests_properties(e2e_${name} PROPERTIES LABELS e2e TIMEOUT 600
    ENVIRONMENT "KH_BIN=${CMAKE_BINARY_DIR};KH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()

# Fault tests: the services SIGKILLed at random moments under load, label
# "fault" (tests/fault/test_*.sh, same environment as e2e).
file(GLOB KH_FAULT_TESTS ${CMAKE_SOURCE_DIR}/tests/fault/test_*.sh)
foreach(src ${KH_FAULT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME fault_${name} COMMAND bash ${src})
  set_tests_properties(fault_${name} PROPERTIES LABELS fault TIMEOUT 900
    ENVIRONMENT "KH_BIN=${CMAKE_BINARY_DIR};KH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()

# Fuzz targets: each decoder's LLVMFuzzerTestOneInput, replayed over its
# seed corpus in every test run (label "fuzz"); with clang and
# -DKH_FUZZ=ON also built as libFuzzer binaries (fuzz_*_libfuzzer).
option(KH_FUZZ "Build libFuzzer targets (clang)" OFF)
if(KH_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KH_FUZZ=ON needs clang (CC=clang, a separate build dir)")
  endif()
  # The libraries the targets exercise get libFuzzer's coverage
  # instrumentation (without it the fuzzer is blind to every branch outside
  # the small fuzz_*.c file) and ASan+UBSan, so that a bad read inside a
  # decoder is caught where it happens; whatever links them links the
  # sanitizer runtimes. UBSan findings abort, so libFuzzer keeps them.
  set(KH_FUZZ_SAN -fsanitize=address,undefined -fno-sanitize-recover=undefined
                  -fno-omit-frame-pointer)
  foreach(lib kaohe_core kaohe_infra)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link ${KH_FUZZ_SAN})
    target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
  endforeach()
endif()
set(KH_FUZZ_TARGETS codec:codec event_json:json config:county+catalog)
foreach(spec ${KH_FUZZ_TARGETS})
  string(REPLACE ":" ";" parts ${spec})
  list(GET parts 0 name)
  list(GET parts 1 dirs)
  string(REPLACE "+" ";" dirs ${dirs})
  set(corpus_dirs "")
  foreach(d ${dirs})
    list(APPEND corpus_dirs ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${d})
  endforeach()
  add_executable(fuzz_${name}_replay tests/fuzz/fuzz_${name}.c tests/fuzz/replay_main.c)
  target_link_libraries(fuzz_${name}_replay PRIVATE kaohe_infra)
  target_compile_definitions(fuzz_${name}_replay PRIVATE KH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME fuzz_${name}_replay COMMAND fuzz_${name}_replay ${corpus_dirs})
  set_tests_properties(fuzz_${name}_replay PROPERTIES LABELS fuzz TIMEOUT 120)
  if(KH_FUZZ)
    add_executable(fuzz_${name}_libfuzzer tests/fuzz/fuzz_${name}.c)
    target_compile_options(fuzz_${name}_libfuzzer PRIVATE -fsanitize=fuzzer ${KH_FUZZ_SAN})
    target_link_options(fuzz_${name}_libfuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name}_libfuzzer PRIVATE kaohe_infra)
    target_compile_definitions(fuzz_${name}_libfuzzer PRIVATE KH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  endif()
endforeach()

# Layout: every C file is as .clang-format says (STYLE.md rule 13), label
# "style". Skipped where clang-format is not installed.
find_program(CLANG_FORMAT clang-format)
if(CLANG_FORMAT)
  file(GLOB_RECURSE KH_C_FILES
    ${CMAKE_SOURCE_DIR}/lib/*.[ch] ${CMAKE_SOURCE_DIR}/cli/*.[ch]
    ${CMAKE_SOURCE_DIR}/services/*.c ${CMAKE_SOURCE_DIR}/tests/unit/*.c
    ${CMAKE_SOURCE_DIR}/tests/fuzz/*.c ${CMAKE_SOURCE_DIR}/bench/*.[ch]
    ${CMAKE_SOURCE_DIR}/tests/tools/*.c)
  add_test(NAME style_clang_format
    COMMAND ${CLANG_FORMAT} --dry-run -Werror ${KH_C_FILES})
  set_tests_properties(style_clang_format PROPERTIES LABELS style)
endif()
