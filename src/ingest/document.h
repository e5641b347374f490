// A document as read from a file, with the structure the chunker respects: headings, paragraphs,
// list items, table rows and code blocks, each a byte span of Document::text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::ingest {

enum class Format { Auto, Text, Markdown, Html, Pdf, Jsonl };

Format parse_format(std::string_view name);  // "auto|text|markdown|html|pdf|jsonl" (also md, txt, htm); throws
std::string_view format_name(Format format) noexcept;
// By extension: .md/.markdown/.mdx, .html/.htm/.xhtml, .pdf, .jsonl/.ndjson, else text.
Format detect_format(std::string_view path);

enum class BlockKind { Heading, Paragraph, ListItem, TableRow, Code };

struct Block {
    BlockKind kind = BlockKind::Paragraph;
    std::uint32_t begin = 0;  // byte span [begin, end) of Document::text
    std::uint32_t end = 0;
    int level = 0;  // heading level 1..6 (Heading only)
    // TableRow: the span of the table's header row(s) (header and separator line), repeated at the
    // top of a chunk that starts inside the table; begin == end when the table has no header.
    std::uint32_t header_begin = 0;
    std::uint32_t header_end = 0;
};

struct Document {
    std::string id;             // external id: the file path, or a JSONL record's id
    std::string title;          // first heading, <title>, PDF Title, JSONL title, or the file name
    std::string text;           // the readable text (Markdown as written; HTML/PDF as extracted)
    std::string metadata_json = "{}";
    std::string source_path;
    Format format = Format::Text;
    std::vector<Block> blocks;  // in text order, non-overlapping

    std::string_view block_text(const Block& b) const { return std::string_view(text).substr(b.begin, b.end - b.begin); }
};

// A heading line without its Markdown markers ("## Travel ##" -> "Travel").
std::string heading_text(std::string_view line);

// Structure parsers: text -> Document (text, title, blocks). `source` names the file in errors.
Document parse_text(std::string text, std::string_view source);
Document parse_markdown(std::string text, std::string_view source);
Document parse_html(std::string_view html, std::string_view source);
// Throws Corrupt / Unsupported (encrypted), or TooLarge when the extracted text passes
// max_text_bytes (checked page by page: a small compressed PDF can hold a huge text).
Document parse_pdf(std::string_view bytes, std::string_view source, std::size_t max_text_bytes = std::size_t{16} << 20);

}  // namespace winnow::ingest
