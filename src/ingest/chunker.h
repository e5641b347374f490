// Token-aware chunking that respects document structure:
// - size and overlap are counted in tokens of the model's tokenizer (or an approximate word count);
// - every chunk starts with its Markdown heading path ("Expense Policy > Travel") as context;
// - table rows are never split (a row longer than the size is a chunk of its own, header included, and
//   the only chunks over the size); list items stay whole unless one alone exceeds the size (then it is
//   cut at sentences); a chunk that starts inside a table repeats the table's header row;
// - boundaries are preferred in this order: section (heading), block (paragraph, item, row),
//   sentence, word. A new section starts a new chunk once the current one is reasonably full.
// Chunks are contiguous byte spans of Document::text (plus the context prefix in Chunk::text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/document.h"

namespace winnow {
class Tokenizer;
}

namespace winnow::ingest {

// Counts tokens of a piece of text.
class TokenCounter {
public:
    // Words and punctuation marks (a word of n > 6 letters counts n/6 rounded up): a deterministic
    // stand-in close to WordPiece counts for English when no tokenizer is configured.
    static TokenCounter approximate();
    // Exact count with a model's tokenizer (no special tokens). The tokenizer must outlive the counter.
    static TokenCounter from_tokenizer(std::shared_ptr<const Tokenizer> tokenizer);
    TokenCounter(std::function<std::size_t(std::string_view)> fn, std::string name)
        : fn_(std::move(fn)), name_(std::move(name)) {}

    std::size_t count(std::string_view text) const { return fn_(text); }
    const std::string& name() const noexcept { return name_; }

private:
    std::function<std::size_t(std::string_view)> fn_;
    std::string name_;
};

struct ChunkOptions {
    std::size_t size_tokens = 256;    // upper bound per chunk, context prefix included
    std::size_t overlap_tokens = 32;  // tokens of trailing units repeated at the next chunk's start (same section only)
    bool heading_context = true;      // prefix each chunk with its heading path
    bool title_context = true;        // start the heading path with the document title when it is not a heading
    double min_fill = 0.5;            // a new section starts a new chunk once the current one is this full
};

struct Chunk {
    std::uint32_t ordinal = 0;
    std::uint32_t begin = 0;  // byte span [begin, end) of Document::text
    std::uint32_t end = 0;
    std::string context;      // heading path, "" when none
    std::string text;         // what gets indexed and reranked: context line, table header if any, the span
    std::size_t n_tokens = 0;
};

std::vector<Chunk> chunk_document(const Document& doc, const ChunkOptions& options, const TokenCounter& counter);

// Sentence boundaries of a paragraph (byte offsets where each sentence starts, first is 0).
std::vector<std::size_t> sentence_starts(std::string_view text);

}  // namespace winnow::ingest
