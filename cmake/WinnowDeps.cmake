# Third-party dependencies, all from Debian 12 packages (see scripts/setup).
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ONIG REQUIRED IMPORTED_TARGET oniguruma)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
find_package(dnnl CONFIG REQUIRED)

# Debian ships FAISS as a static library without a usable CMake package on every
# release; link it by hand with its BLAS/LAPACK and OpenMP needs.
find_library(WINNOW_FAISS_LIB NAMES faiss REQUIRED)
find_library(WINNOW_LAPACK_LIB NAMES lapack REQUIRED)
add_library(winnow_faiss INTERFACE)
target_link_libraries(winnow_faiss INTERFACE ${WINNOW_FAISS_LIB} PkgConfig::OPENBLAS ${WINNOW_LAPACK_LIB} OpenMP::OpenMP_CXX)

find_library(WINNOW_STEMMER_LIB NAMES stemmer REQUIRED)
find_path(WINNOW_STEMMER_INCLUDE NAMES libstemmer.h REQUIRED)
add_library(winnow_stemmer INTERFACE)
target_link_libraries(winnow_stemmer INTERFACE ${WINNOW_STEMMER_LIB})
target_include_directories(winnow_stemmer INTERFACE ${WINNOW_STEMMER_INCLUDE})

find_library(WINNOW_XGBOOST_LIB NAMES xgboost REQUIRED)
add_library(winnow_xgboost INTERFACE)
target_link_libraries(winnow_xgboost INTERFACE ${WINNOW_XGBOOST_LIB})

find_path(WINNOW_HTTPLIB_INCLUDE NAMES httplib.h REQUIRED)
find_package(OpenSSL REQUIRED)
# Debian builds cpp-httplib as a compiled library (libcpp-httplib.so, "split" mode): the header only
# declares, so link it, and compile with the same feature macros it was built with (class layouts
# depend on them); pkg-config supplies both.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(winnow_httplib INTERFACE)
target_include_directories(winnow_httplib INTERFACE ${WINNOW_HTTPLIB_INCLUDE})
target_link_libraries(winnow_httplib INTERFACE PkgConfig::HTTPLIB OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

if(WINNOW_BUILD_TESTS)
    find_package(GTest REQUIRED)
endif()
if(WINNOW_BUILD_BENCH)
    find_package(benchmark REQUIRED)
endif()

# Helper: winnow_add_module(<name> SOURCES ... DEPS ...)
function(winnow_add_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
    if(ARG_SOURCES)
        add_library(winnow_${name} STATIC ${ARG_SOURCES})
        set(scope PUBLIC)
    else()
        # A module with no sources yet (header-only or not started).
        add_library(winnow_${name} INTERFACE)
        set(scope INTERFACE)
    endif()
    add_library(winnow::${name} ALIAS winnow_${name})
    # Modules include each other's internal headers as "module/file.h".
    target_include_directories(winnow_${name} ${scope} ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(winnow_${name} ${scope} ${ARG_DEPS})
endfunction()

# Helper: winnow_add_test(<name> LABEL <label> SOURCES ... DEPS ...)
# One gtest binary per module; each test case becomes a ctest test named <name>:<Suite.Case>.
function(winnow_add_test name)
    cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(${name} PRIVATE
        WINNOW_SHARED_DIR="${WINNOW_SHARED_DIR}"
        WINNOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        WINNOW_BINARY_DIR="${PROJECT_BINARY_DIR}")
    gtest_discover_tests(${name}
        TEST_PREFIX "${name}:"
        PROPERTIES LABELS ${ARG_LABEL}
        DISCOVERY_TIMEOUT 60)
endfunction()

# Where the read-only shared/ folder (fixtures, data, bench model) lives.
set(WINNOW_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "Path to the shared fixtures and data")
get_filename_component(WINNOW_SHARED_DIR "${WINNOW_SHARED_DIR}" ABSOLUTE)
