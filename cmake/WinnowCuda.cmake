# The CUDA backend (issue #19): WINNOW_CUDA = AUTO (default: on when a CUDA toolkit is found and
# no sanitizer is on), ON (a missing toolkit is a configure error) or OFF. Sets WINNOW_HAVE_CUDA.
# Device code is built for sm_90 (Hopper: H100/H200) as SASS plus compute_90 PTX, which newer
# GPUs JIT-compile; override with -DCMAKE_CUDA_ARCHITECTURES=... The CPU build never needs a GPU:
# the runtime is linked statically and answers "no device" where there is none (tensor/cuda_status.cpp).
set(WINNOW_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE WINNOW_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${WINNOW_CUDA}" winnow_cuda_mode)

set(WINNOW_HAVE_CUDA OFF)
if(winnow_cuda_mode STREQUAL "AUTO" AND (WINNOW_SANITIZERS OR WINNOW_TSAN OR WINNOW_FUZZ))
    # The sanitizer runtimes and the CUDA runtime's own threads and allocator do not mix well.
    set(winnow_cuda_mode OFF)
endif()
if(NOT winnow_cuda_mode STREQUAL "OFF")
    if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
        set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    include(CheckLanguage)
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
        if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
            set(CMAKE_CUDA_ARCHITECTURES 90)  # "90" = sm_90 SASS + compute_90 PTX
        endif()
        enable_language(CUDA)
        set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 dialect for nvcc; device code keeps to C++17
        set(CMAKE_CUDA_STANDARD_REQUIRED ON)
        find_package(CUDAToolkit REQUIRED)
        set(WINNOW_HAVE_CUDA ON)
        message(STATUS "winnow: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
    elseif(winnow_cuda_mode STREQUAL "ON")
        message(FATAL_ERROR "WINNOW_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER or CUDACXX)")
    else()
        message(STATUS "winnow: CUDA backend OFF (no CUDA toolkit found)")
    endif()
else()
    message(STATUS "winnow: CUDA backend OFF (WINNOW_CUDA=${WINNOW_CUDA}${WINNOW_SANITIZERS}${WINNOW_TSAN})")
endif()
