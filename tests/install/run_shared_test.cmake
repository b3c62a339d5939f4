# Builds Sluice as a shared library (CPU backend, the library and the command only), installs
# it into a scratch prefix, and builds and runs the consumer project against it: the installed
# command and consumer find libsluice.so. Variables: SOURCE_DIR, WORK_DIR, GENERATOR.
file(REMOVE_RECURSE "${WORK_DIR}")

include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

run_step("configuring the shared build" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/build"
         -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG"
         -DSLUICE_BUILD_SHARED=ON
         -DSLUICE_ENABLE_CUDA=OFF -DSLUICE_ENABLE_MPI=OFF -DSLUICE_BUILD_TESTS=OFF
         -DSLUICE_BUILD_BENCH=OFF -DSLUICE_BUILD_SAMPLES=OFF)
run_step("building the shared library" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" -j 2)
run_step("install" "${CMAKE_COMMAND}" --install "${WORK_DIR}/build" --prefix "${WORK_DIR}/prefix")
file(GLOB_RECURSE shared "${WORK_DIR}/prefix/*/libsluice.so")
file(GLOB_RECURSE static "${WORK_DIR}/prefix/*/libsluice.a")
if(NOT shared OR static)
  message(FATAL_ERROR "expected libsluice.so and no libsluice.a under ${WORK_DIR}/prefix")
endif()
run_step("the installed command" "${WORK_DIR}/prefix/bin/sluice" --version)
run_step("configuring the consumer" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/consumer"
         -B "${WORK_DIR}/consumer" -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
run_step("building the consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")
run_step("the consumer" "${WORK_DIR}/consumer/consumer")
