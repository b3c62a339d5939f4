# Installs the built Sluice into a scratch prefix, then configures, builds and runs against it
# the consumer project and the README's C++ API example, extracted exactly as written.
# Variables: BINARY_DIR (a Sluice build tree), SOURCE_DIR, WORK_DIR, GENERATOR.
file(REMOVE_RECURSE "${WORK_DIR}")

include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

# The first ```cpp block after "## The C++ API" in README.md.
file(READ "${SOURCE_DIR}/README.md" readme)
string(FIND "${readme}" "## The C++ API" at)
if(at LESS 0)
  message(FATAL_ERROR "README.md has no '## The C++ API' section")
endif()
string(SUBSTRING "${readme}" ${at} -1 readme)
string(FIND "${readme}" "```cpp\n" begin)
string(FIND "${readme}" "\n```\n" end)
if(begin LESS 0 OR end LESS begin)
  message(FATAL_ERROR "the C++ API section of README.md has no ```cpp block")
endif()
math(EXPR begin "${begin} + 7")
math(EXPR length "${end} + 1 - ${begin}")
string(SUBSTRING "${readme}" ${begin} ${length} example)
file(WRITE "${WORK_DIR}/readme_example.cpp" "${example}")

run_step("install" "${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
run_step("configuring the consumer" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/consumer"
         -B "${WORK_DIR}/build" -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
         "-DREADME_EXAMPLE=${WORK_DIR}/readme_example.cpp")
run_step("building the consumer and the README example" "${CMAKE_COMMAND}" --build
         "${WORK_DIR}/build")
run_step("the consumer" "${WORK_DIR}/build/consumer")
run_step("the README example" "${WORK_DIR}/build/readme_example")
run_step("the installed command" "${WORK_DIR}/prefix/bin/sluice" --version)
