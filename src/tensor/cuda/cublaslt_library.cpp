#include "tensor/cuda/cublaslt_library.h"

#include <dlfcn.h>

#include <string>

#include "winnow/error.h"

namespace winnow::cuda {
namespace {

// The soname the backend was built against (CUBLAS_VER_MAJOR from the header in use).
std::string library_name() {
    return "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
}

CublasLtLibrary open_library() {
    const std::string name = library_name();
    // Never closed: the handle lives as long as the process, as a linked library would.
    // The loader's search path first (LD_LIBRARY_PATH, RUNPATH, ld.so.cache), then the toolkit's
    // library folder found at build time.
    void* handle = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    std::string error = handle == nullptr ? ::dlerror() : "";
#ifdef WINNOW_CUDA_LIBRARY_DIR
    if (handle == nullptr)
        handle = ::dlopen((std::string(WINNOW_CUDA_LIBRARY_DIR) + "/" + name).c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
    WINNOW_CHECK(handle != nullptr, Errc::NotFound, "cuda: cannot load {} (the CUDA toolkit's cuBLASLt): {}", name,
                 error);
    CublasLtLibrary lib;
#define WINNOW_CUBLASLT_RESOLVE(fn)                                   \
    lib.fn = reinterpret_cast<decltype(&::fn)>(::dlsym(handle, #fn)); \
    WINNOW_CHECK(lib.fn != nullptr, Errc::NotFound,                   \
                 "cuda: {} has no {} (a cuBLASLt older than the one built against)", name, #fn);
    WINNOW_CUBLASLT_FUNCTIONS(WINNOW_CUBLASLT_RESOLVE)
#undef WINNOW_CUBLASLT_RESOLVE
    return lib;
}

}  // namespace

const CublasLtLibrary& cublaslt() {
    static const CublasLtLibrary lib = open_library();  // a failed open throws and is retried next call
    return lib;
}

}  // namespace winnow::cuda
