#include "lexical/postings.h"

#include <array>
#include <bit>
#include <utility>

#include "winnow/error.h"

namespace winnow::lexical::postings {
namespace {

unsigned bits_for(std::uint32_t max_value) { return static_cast<unsigned>(32 - std::countl_zero(max_value)); }

void pack(const std::uint32_t* values, std::size_t n, unsigned bits, std::vector<std::uint64_t>& out) {
    if (bits == 0) return;
    const std::size_t base = out.size();
    out.resize(base + (n * bits + 63) / 64, 0);
    std::uint64_t* words = out.data() + base;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t bit = i * bits;
        const std::size_t w = bit >> 6;
        const unsigned off = bit & 63;
        words[w] |= static_cast<std::uint64_t>(values[i]) << off;
        if (off + bits > 64) words[w + 1] |= static_cast<std::uint64_t>(values[i]) >> (64 - off);
    }
}

// 64 values of B bits occupy exactly B words; with B a constant the unrolled loop is shifts and masks.
template <unsigned B>
inline void unpack64(const std::uint64_t* in, std::uint32_t* out) {
    constexpr std::uint64_t mask = (1ULL << B) - 1;
#pragma GCC unroll 64
    for (unsigned i = 0; i < 64; ++i) {
        const unsigned bit = i * B;
        const unsigned w = bit >> 6;
        const unsigned off = bit & 63;
        std::uint64_t v = in[w] >> off;
        if (off + B > 64) v |= in[w + 1] << (64 - off);
        out[i] = static_cast<std::uint32_t>(v & mask);
    }
}

void unpack_tail(const std::uint64_t* in, std::size_t n, unsigned bits, std::uint32_t* out) {
    const std::uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t bit = i * bits;
        const std::size_t w = bit >> 6;
        const unsigned off = bit & 63;
        std::uint64_t v = in[w] >> off;
        if (off + bits > 64) v |= in[w + 1] << (64 - off);
        out[i] = static_cast<std::uint32_t>(v & mask);
    }
}

template <unsigned B>
void unpack128(const std::uint64_t* in, std::uint32_t* out) {
    unpack64<B>(in, out);
    unpack64<B>(in + B, out + 64);
}

using Unpack128 = void (*)(const std::uint64_t*, std::uint32_t*);
template <unsigned... B>
constexpr auto make_table(std::integer_sequence<unsigned, B...>) {
    return std::array<Unpack128, sizeof...(B)>{&unpack128<B + 1>...};
}
constexpr auto kUnpack = make_table(std::make_integer_sequence<unsigned, 32>());

void unpack(const std::uint64_t* in, std::size_t n, unsigned bits, std::uint32_t* out) {
    if (bits == 0) {
        for (std::size_t i = 0; i < n; ++i) out[i] = 0;
    } else if (n == kBlockSize) {
        kUnpack[bits - 1](in, out);
    } else {
        unpack_tail(in, n, bits, out);
    }
}

}  // namespace

void encode_block(const std::uint32_t* docs, const std::uint32_t* tfs, std::size_t n, std::uint32_t base,
                  std::vector<std::uint64_t>& out) {
    WINNOW_ASSERT(n >= 1 && n <= kBlockSize);
    std::uint32_t gaps[kBlockSize];
    std::uint32_t tfm[kBlockSize];
    std::uint32_t max_gap = 0;
    std::uint32_t max_tf = 0;
    std::uint32_t next = base;  // the smallest doc the next posting may have
    for (std::size_t i = 0; i < n; ++i) {
        WINNOW_ASSERT(docs[i] >= next && tfs[i] >= 1);
        gaps[i] = docs[i] - next;
        next = docs[i] + 1;
        tfm[i] = tfs[i] - 1;
        max_gap |= gaps[i];
        max_tf |= tfm[i];
    }
    const unsigned doc_bits = bits_for(max_gap);
    const unsigned tf_bits = bits_for(max_tf);
    out.push_back(doc_bits | (tf_bits << 8));
    pack(gaps, n, doc_bits, out);
    pack(tfm, n, tf_bits, out);
}

void decode_docs(const std::uint64_t* block, std::size_t n, std::uint32_t base, std::uint32_t* docs) {
    const BlockHeader h = header(block);
    unpack(block + 1, n, h.doc_bits, docs);
    std::uint32_t next = base;
    for (std::size_t i = 0; i < n; ++i) {
        docs[i] += next;
        next = docs[i] + 1;
    }
}

void decode_tfs(const std::uint64_t* block, std::size_t n, std::uint32_t* tfs) {
    const BlockHeader h = header(block);
    unpack(block + 1 + (n * h.doc_bits + 63) / 64, n, h.tf_bits, tfs);
    for (std::size_t i = 0; i < n; ++i) tfs[i] += 1;
}

}  // namespace winnow::lexical::postings
