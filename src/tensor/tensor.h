// winnow::Tensor: a dense, row-major, 64-byte aligned f32 matrix [rows x cols].
// Activations are [tokens, features]; weights are [out_features, in_features] as in PyTorch; a
// vector is a 1 x n tensor. Batches are unpadded: the rows of all sequences are concatenated and
// sequence boundaries travel separately as cu_seqlens (n + 1 offsets).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>

namespace winnow {

class Tensor {
public:
    Tensor() = default;
    // Uninitialised contents (every kernel writes its whole output).
    Tensor(std::size_t rows, std::size_t cols);
    static Tensor zeros(std::size_t rows, std::size_t cols);

    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;
    Tensor clone() const;

    // Reshapes to rows x cols, reusing the storage when it is large enough (contents undefined).
    void resize(std::size_t rows, std::size_t cols);

    std::size_t rows() const noexcept { return rows_; }
    std::size_t cols() const noexcept { return cols_; }
    std::size_t size() const noexcept { return rows_ * cols_; }
    bool empty() const noexcept { return size() == 0; }

    float* data() noexcept { return data_.get(); }
    const float* data() const noexcept { return data_.get(); }
    float* row(std::size_t r) noexcept { return data_.get() + r * cols_; }
    const float* row(std::size_t r) const noexcept { return data_.get() + r * cols_; }
    std::span<float> span() noexcept { return {data_.get(), size()}; }
    std::span<const float> span() const noexcept { return {data_.get(), size()}; }

private:
    struct Free {
        void operator()(float* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<float[], Free> data_;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace winnow
