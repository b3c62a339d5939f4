# Decides whether the CUDA backend is built (SLUICE_ENABLE_CUDA) and sets its compiler flags.
set(SLUICE_WITH_CUDA OFF)
if(NOT SLUICE_ENABLE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(SLUICE_WITH_CUDA ON)
  elseif(SLUICE_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SLUICE_ENABLE_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()

if(SLUICE_WITH_CUDA)
  # CMake 3.25 knows nvcc's dialect flags only up to C++17; nvcc >= 12 takes -std=c++20.
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  # Warnings are errors in device code too, cross-execution-space calls included.
  set(SLUICE_CUDA_FLAGS
      --Werror all-warnings
      --expt-relaxed-constexpr
      -Xcompiler=-Wall,-Wextra)
  message(STATUS "Sluice: CUDA backend ON (architectures: ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "Sluice: CUDA backend OFF (CPU backend only)")
endif()
