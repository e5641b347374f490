// The posting codec of a segment: each term's postings in blocks of 128 documents, each block
// one header word then its doc-id gaps and its term frequencies, each bit-packed at the fixed
// width its largest value needs (binary packing, as in Lemire & Boytsov's BP128 and Lucene's
// ForUtil). Decoding a full block unrolls to straight-line shifts and masks per bit width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace winnow::lexical::postings {

inline constexpr std::size_t kBlockSize = 128;

// Words a block of `n` postings with these bit widths occupies (header included).
inline std::size_t block_words(std::size_t n, unsigned doc_bits, unsigned tf_bits) {
    return 1 + (n * doc_bits + 63) / 64 + (n * tf_bits + 63) / 64;
}

// Appends one block of `n` (1..128) postings: `docs` strictly increasing, every doc >= `base`
// (the previous block's last doc + 1, or 0), every tf >= 1.
void encode_block(const std::uint32_t* docs, const std::uint32_t* tfs, std::size_t n, std::uint32_t base,
                  std::vector<std::uint64_t>& out);

struct BlockHeader {
    unsigned doc_bits = 0;
    unsigned tf_bits = 0;
};
inline BlockHeader header(const std::uint64_t* block) {
    return {static_cast<unsigned>(block[0] & 0xff), static_cast<unsigned>((block[0] >> 8) & 0xff)};
}

// Decodes the documents of the block at `block` (n postings) into `docs`.
void decode_docs(const std::uint64_t* block, std::size_t n, std::uint32_t base, std::uint32_t* docs);
// Decodes the term frequencies of the block into `tfs`.
void decode_tfs(const std::uint64_t* block, std::size_t n, std::uint32_t* tfs);

}  // namespace winnow::lexical::postings
