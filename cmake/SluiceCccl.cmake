# Locates the CCCL headers (Thrust, CUB, libcu++): the CUDA toolkit's include/cccl, or Debian's packages.
set(SLUICE_CCCL_INCLUDE "")
if(NOT SLUICE_CCCL STREQUAL "SYSTEM")
  set(_toolkit_dirs "")
  if(CUDAToolkit_INCLUDE_DIRS)
    list(APPEND _toolkit_dirs ${CUDAToolkit_INCLUDE_DIRS})
  endif()
  list(APPEND _toolkit_dirs /usr/local/cuda/include)
  foreach(dir IN LISTS _toolkit_dirs)
    if(EXISTS "${dir}/cccl/thrust/version.h")
      set(SLUICE_CCCL_INCLUDE "${dir}/cccl")
      break()
    endif()
  endforeach()
  if(NOT SLUICE_CCCL_INCLUDE AND SLUICE_CCCL STREQUAL "TOOLKIT")
    message(FATAL_ERROR "SLUICE_CCCL=TOOLKIT but no <toolkit>/include/cccl was found")
  endif()
endif()
if(NOT SLUICE_CCCL_INCLUDE)
  find_path(SLUICE_SYSTEM_THRUST thrust/version.h PATHS /usr/include NO_CACHE)
  find_path(SLUICE_SYSTEM_LIBCUDACXX cuda/atomic PATHS /usr/include NO_CACHE)
  if(NOT SLUICE_SYSTEM_THRUST OR NOT SLUICE_SYSTEM_LIBCUDACXX)
    message(FATAL_ERROR
      "Thrust/CUB/libcu++ headers not found: install the CUDA toolkit, or Debian's "
      "libthrust-dev libcub-dev libcu++-dev")
  endif()
  set(SLUICE_CCCL_INCLUDE "${SLUICE_SYSTEM_THRUST}")
endif()
message(STATUS "Sluice: CCCL headers from ${SLUICE_CCCL_INCLUDE}")

# Header-only interface carrying the CCCL include path and the host-side Thrust configuration:
# host translation units use Thrust's OpenMP system, CUDA ones keep Thrust's CUDA system.
add_library(sluice_cccl INTERFACE)
target_include_directories(sluice_cccl SYSTEM INTERFACE "$<BUILD_INTERFACE:${SLUICE_CCCL_INCLUDE}>")
target_compile_definitions(sluice_cccl INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:THRUST_HOST_SYSTEM=THRUST_HOST_SYSTEM_CPP>
  $<$<COMPILE_LANGUAGE:CXX>:THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP>
  THRUST_IGNORE_DEPRECATED_CPP_DIALECT CUB_IGNORE_DEPRECATED_CPP_DIALECT)
