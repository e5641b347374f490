// cuBLASLt is opened on first use, not linked (src/tensor/cuda/cublaslt_library.h). Here, with or
// without a GPU: the library the backend was built against opens and has every function it calls.
#include <gtest/gtest.h>

#ifdef WINNOW_HAVE_CUDA
#include "tensor/cuda/cublaslt_library.h"

TEST(CublasLtLibrary, OpensAndResolvesEveryFunction) {
    const winnow::cuda::CublasLtLibrary& lib = winnow::cuda::cublaslt();
#define WINNOW_EXPECT_RESOLVED(fn) EXPECT_NE(lib.fn, nullptr) << #fn;
    WINNOW_CUBLASLT_FUNCTIONS(WINNOW_EXPECT_RESOLVED)
#undef WINNOW_EXPECT_RESOLVED
    EXPECT_EQ(&winnow::cuda::cublaslt(), &lib);  // opened once
    // A call through the table that needs no device: a matrix layout is host-side state.
    cublasLtMatrixLayout_t layout = nullptr;
    ASSERT_EQ(lib.cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, 4, 8, 4), CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(lib.cublasLtMatrixLayoutDestroy(layout), CUBLAS_STATUS_SUCCESS);
}
#else
TEST(CublasLtLibrary, OpensAndResolvesEveryFunction) {
    GTEST_SKIP() << "built without the CUDA backend";
}
#endif
