#include "tensor/tensor.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace winnow {

namespace {
constexpr std::size_t kAlignment = 64;

// Activations of a large batch (tens of MB) are written once per layer: in 4 KB pages their first touch
// costs one fault per page, and a GEMM over them one TLB miss per page. Buffers of kHugeBytes or more are
// aligned to 2 MB and offered to the kernel for transparent huge pages (Linux's default THP mode is
// "madvise", so without the hint they get none): 512 times fewer faults and TLB entries.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeBytes = std::size_t{4} << 20;

float* allocate(std::size_t n) {
    std::size_t bytes = ((n * sizeof(float) + kAlignment - 1) / kAlignment) * kAlignment;
    const bool huge = bytes >= kHugeBytes;
    if (huge) bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(huge ? kHugePage : kAlignment, bytes == 0 ? kAlignment : bytes);
    if (p == nullptr) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
    if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: refused or unavailable changes nothing
#endif
    return static_cast<float*>(p);
}
}  // namespace

Tensor::Tensor(std::size_t rows, std::size_t cols) { resize(rows, cols); }

Tensor Tensor::zeros(std::size_t rows, std::size_t cols) {
    Tensor t(rows, cols);
    if (t.size() > 0) std::memset(t.data(), 0, t.size() * sizeof(float));
    return t;
}

Tensor Tensor::clone() const {
    Tensor t(rows_, cols_);
    if (size() > 0) std::memcpy(t.data(), data(), size() * sizeof(float));
    return t;
}

void Tensor::resize(std::size_t rows, std::size_t cols) {
    const std::size_t n = rows * cols;
    if (n > capacity_ || !data_) {
        data_.reset(allocate(n));
        capacity_ = n;
    }
    rows_ = rows;
    cols_ = cols;
}

}  // namespace winnow
