// libFuzzer target for document text extraction: HTML, PDF, Markdown and plain text parsers, then
// the chunker-facing invariants of the result (blocks are in order, non-overlapping spans of the
// text). Bad input must give winnow::Error, never a crash; a broken invariant aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/document.h"
#include "winnow/error.h"

namespace {

void check(const winnow::ingest::Document& d) {
    std::uint32_t prev_end = 0;
    for (const auto& b : d.blocks) {
        if (b.begin > b.end || b.end > d.text.size() || b.begin < prev_end) std::abort();
        if (b.header_begin > b.header_end || b.header_end > d.text.size()) std::abort();
        if (b.kind == winnow::ingest::BlockKind::Heading && (b.level < 1 || b.level > 6)) std::abort();
        (void)d.block_text(b);
        prev_end = b.end;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    using namespace winnow::ingest;
    try {
        switch (data[0] % 4) {
            case 0: check(parse_html(input, "fuzz.html")); break;
            case 1: check(parse_pdf(input, "fuzz.pdf")); break;
            case 2: check(parse_markdown(std::string(input), "fuzz.md")); break;
            default: check(parse_text(std::string(input), "fuzz.txt")); break;
        }
    } catch (const winnow::Error&) {
    }
    return 0;
}
