// Column<T>: one array of a lexical segment, either owned (built or merged in memory, growable) or
// a read-only view into the mapped file the segment was loaded from, used in place: loading a
// segment then copies none of its arrays (the mapping is kept alive by the columns viewing it).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "winnow/error.h"

namespace winnow::lexical {

template <typename T>
class Column {
public:
    Column() = default;
    Column(Column&& o) noexcept { *this = std::move(o); }
    Column& operator=(Column&& o) noexcept {
        if (this != &o) {
            owned_ = std::move(o.owned_);
            keep_ = std::move(o.keep_);
            data_ = o.data_;
            size_ = o.size_;
            o.owned_.clear();
            o.keep_.reset();
            o.sync();
        }
        return *this;
    }
    Column(const Column&) = delete;
    Column& operator=(const Column&) = delete;

    Column& operator=(std::vector<T>&& v) {
        owned_ = std::move(v);
        keep_.reset();
        sync();
        return *this;
    }
    // A view of `data`, valid while `keep` (the mapping holding it) lives.
    static Column mapped(std::span<const T> data, std::shared_ptr<const void> keep) {
        Column c;
        c.keep_ = std::move(keep);
        c.data_ = data.data();
        c.size_ = data.size();
        return c;
    }

    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    const T* begin() const noexcept { return data_; }
    const T* end() const noexcept { return data_ + size_; }
    const T& front() const noexcept { return data_[0]; }
    const T& back() const noexcept { return data_[size_ - 1]; }
    std::span<const T> span() const noexcept { return {data_, size_}; }

    // Growth, while a segment is built or merged (an owned column only).
    void push_back(const T& v) {
        own().push_back(v);
        sync();
    }
    void reserve(std::size_t n) {
        own().reserve(n);
        sync();
    }
    void resize(std::size_t n) {
        own().resize(n);
        sync();
    }
    template <typename It>
    void append(It first, It last) {
        own().insert(owned_.end(), first, last);
        sync();
    }
    void clear() {
        keep_.reset();
        owned_.clear();
        sync();
    }
    // Writable elements of an owned column (its size fixed meanwhile).
    T* mutable_data() { return own().data(); }

private:
    std::vector<T>& own() {
        WINNOW_ASSERT(keep_ == nullptr);
        return owned_;
    }
    void sync() noexcept {
        if (keep_ == nullptr) {
            data_ = owned_.data();
            size_ = owned_.size();
        }
    }

    std::vector<T> owned_;
    std::shared_ptr<const void> keep_;
    const T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace winnow::lexical
