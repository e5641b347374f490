#include "tensor/tensor.h"

#include <cstring>
#include <new>

namespace winnow {

namespace {
constexpr std::size_t kAlignment = 64;

float* allocate(std::size_t n) {
    const std::size_t bytes = ((n * sizeof(float) + kAlignment - 1) / kAlignment) * kAlignment;
    void* p = std::aligned_alloc(kAlignment, bytes == 0 ? kAlignment : bytes);
    if (p == nullptr) throw std::bad_alloc();
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
