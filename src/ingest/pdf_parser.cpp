// PDF text through poppler's C++ API: page text, lines joined into paragraphs (blank lines and
// page breaks end a paragraph; a hyphen at a line end joins the word).
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/log.h"
#include "ingest/document.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace {

void quiet_poppler() {
    static std::once_flag once;
    std::call_once(once, [] {
        poppler::set_debug_error_function([](const std::string& message, void*) { log::debug("poppler: {}", message); },
                                          nullptr);
    });
}

std::string trim_copy(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

}  // namespace

Document parse_pdf(std::string_view bytes, std::string_view source, std::size_t max_text_bytes) {
    quiet_poppler();
    WINNOW_CHECK(bytes.size() >= 5 && bytes.substr(0, 5) == "%PDF-", Errc::Corrupt, "{}: not a PDF file (no %PDF- header)",
                 source);
    std::vector<char> data(bytes.begin(), bytes.end());
    std::unique_ptr<poppler::document> pdf(poppler::document::load_from_raw_data(data.data(), static_cast<int>(data.size())));
    WINNOW_CHECK(pdf != nullptr, Errc::Corrupt, "{}: poppler cannot open this PDF (damaged or not a PDF)", source);
    WINNOW_CHECK(!pdf->is_locked(), Errc::Unsupported, "{}: the PDF is encrypted", source);
    Document doc;
    doc.format = Format::Pdf;
    doc.source_path = std::string(source);
    doc.id = doc.source_path;
    std::string paragraph;
    auto flush = [&] {
        std::string p = trim_copy(paragraph);
        paragraph.clear();
        if (p.empty()) return;
        if (!doc.text.empty()) doc.text += "\n\n";
        Block b{BlockKind::Paragraph, static_cast<std::uint32_t>(doc.text.size()), 0};
        doc.text += p;
        b.end = static_cast<std::uint32_t>(doc.text.size());
        doc.blocks.push_back(b);
    };
    for (int i = 0; i < pdf->pages(); ++i) {
        std::unique_ptr<poppler::page> page(pdf->create_page(i));
        if (!page) continue;
        const poppler::byte_array raw = page->text().to_utf8();
        std::string text(raw.begin(), raw.end());
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t nl = text.find('\n', start);
            if (nl == std::string::npos) nl = text.size();
            std::string line = trim_copy(std::string_view(text).substr(start, nl - start));
            if (line.empty() || line == "\f") {
                flush();
            } else {
                if (!paragraph.empty()) {
                    if (paragraph.back() == '-' && paragraph.size() > 1 && std::isalpha(static_cast<unsigned char>(paragraph[paragraph.size() - 2]))) {
                        paragraph.pop_back();
                    } else {
                        paragraph += ' ';
                    }
                }
                paragraph += line;
            }
            if (nl == text.size()) break;
            start = nl + 1;
        }
        flush();  // a page break ends a paragraph
        WINNOW_CHECK(doc.text.size() <= max_text_bytes, Errc::TooLarge,
                     "{}: the text of pages 1-{} of {} is over the limit of {} bytes (max_document_bytes)", source,
                     i + 1, pdf->pages(), max_text_bytes);
    }
    const poppler::byte_array title = pdf->info_key("Title").to_utf8();
    doc.title = trim_copy(std::string_view(title.data(), title.size()));
    if (doc.title.empty() && !doc.blocks.empty()) {
        std::string_view first = doc.block_text(doc.blocks.front());
        if (first.size() <= 120) doc.title = std::string(first);
    }
    if (doc.title.empty()) doc.title = std::filesystem::path(std::string(source)).stem().string();
    return doc;
}

}  // namespace winnow::ingest
