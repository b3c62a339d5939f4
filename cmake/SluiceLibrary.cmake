# The library target sluice::sluice: public API (include/), host layer, transport and kernels.
# Host sources compile with the C++ compiler; the CUDA instantiations (*.cu) with nvcc when the
# CUDA backend is on. Static unless SLUICE_BUILD_SHARED; consumers get C++20 from it.
file(GLOB SLUICE_HOST_SOURCES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/host/*.cpp
     ${PROJECT_SOURCE_DIR}/host/api/*.cpp
     ${PROJECT_SOURCE_DIR}/host/engine/*.cpp
     ${PROJECT_SOURCE_DIR}/host/io/*.cpp
     ${PROJECT_SOURCE_DIR}/transport/*.cpp
     ${PROJECT_SOURCE_DIR}/kernels/*.cpp
     ${PROJECT_SOURCE_DIR}/kernels/table/*.cpp
     ${PROJECT_SOURCE_DIR}/kernels/pipeline/*.cpp
     ${PROJECT_SOURCE_DIR}/kernels/host/*.cpp)
if(SLUICE_BUILD_SHARED)
  add_library(sluice SHARED ${SLUICE_HOST_SOURCES})
else()
  add_library(sluice STATIC ${SLUICE_HOST_SOURCES})
endif()
target_compile_features(sluice PUBLIC cxx_std_20)
add_library(sluice::sluice ALIAS sluice)
if(SLUICE_WITH_CUDA)
  file(GLOB SLUICE_CUDA_SOURCES CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/kernels/*.cu
       ${PROJECT_SOURCE_DIR}/kernels/table/*.cu
       ${PROJECT_SOURCE_DIR}/kernels/pipeline/*.cu
       ${PROJECT_SOURCE_DIR}/kernels/exec/*.cu
       ${PROJECT_SOURCE_DIR}/kernels/cuda/*.cu
       ${PROJECT_SOURCE_DIR}/host/*.cu)
  target_sources(sluice PRIVATE ${SLUICE_CUDA_SOURCES})
  target_compile_definitions(sluice PRIVATE SLUICE_WITH_CUDA=1)
  target_compile_options(sluice PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${SLUICE_CUDA_FLAGS}>)
  target_link_libraries(sluice PUBLIC CUDA::cudart_static)
endif()
if(SLUICE_WITH_MPI)
  file(GLOB SLUICE_MPI_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/transport/mpi/*.cpp)
  target_sources(sluice PRIVATE ${SLUICE_MPI_SOURCES})
  target_compile_definitions(sluice PRIVATE SLUICE_WITH_MPI=1)
  target_link_libraries(sluice PUBLIC MPI::MPI_CXX)
endif()
if(SLUICE_WITH_NCCL)
  file(GLOB SLUICE_NCCL_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/transport/nccl/*.cpp)
  target_sources(sluice PRIVATE ${SLUICE_NCCL_SOURCES})
  target_compile_definitions(sluice PRIVATE SLUICE_WITH_NCCL=1)
  target_include_directories(sluice PRIVATE ${SLUICE_NCCL_INCLUDE_DIR})
  target_link_libraries(sluice PUBLIC ${SLUICE_NCCL_LIBRARY})
endif()
target_include_directories(sluice
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
  PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_options(sluice PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Werror=return-type>)
target_link_libraries(sluice
  PUBLIC OpenMP::OpenMP_CXX Threads::Threads
  PRIVATE $<BUILD_INTERFACE:sluice_cccl>)
# Position-independent, so that a shared library (a language binding, the pyarrow test's shim)
# can link the static library.
set_target_properties(sluice PROPERTIES EXPORT_NAME sluice POSITION_INDEPENDENT_CODE ON)
if(SLUICE_PRECOMPILE_HEADERS)
  # Most sources include most of these: parsed once, a fresh build takes about a quarter less.
  set(sluice_std_headers algorithm atomic chrono condition_variable cstdint cstring deque
      functional iostream map memory mutex optional span sstream string string_view thread
      unordered_map variant vector)
  list(TRANSFORM sluice_std_headers REPLACE "(.+)" "$<$<COMPILE_LANGUAGE:CXX>:<\\1>>")
  target_precompile_headers(sluice PRIVATE ${sluice_std_headers})
  # GCC 12 reports false -Warray-bounds positives (GCC PR 105651) on string concatenation in
  # these when the standard headers come precompiled.
  set_source_files_properties(${PROJECT_SOURCE_DIR}/host/api/expr_parser.cpp
                              ${PROJECT_SOURCE_DIR}/host/api/arrow.cpp
                              ${PROJECT_SOURCE_DIR}/host/io/csv_reader.cpp
                              PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endif()
if(SLUICE_SANITIZE)
  # A sanitized static library needs the sanitizer runtimes wherever it is linked, installed
  # consumers included.
  target_link_options(sluice PUBLIC -fsanitize=address,undefined)
endif()
