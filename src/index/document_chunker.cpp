#include "index/document_chunker.h"

namespace winnow::index {
namespace {

// True when the text opens with a Markdown heading holding the title (the title came from it), or when one of
// its first three lines is the title (text extracted from an HTML page or a PDF, perhaps after a navigation
// line): then prefixing the title would only repeat it.
bool title_heads_text(const IndexDocument& doc) {
    const auto first = doc.text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return false;
    if (doc.text[first] == '#') {
        const auto eol = doc.text.find('\n', first);
        return doc.text.substr(first, eol == std::string::npos ? std::string::npos : eol - first).find(doc.title) !=
               std::string::npos;
    }
    std::size_t pos = first;
    for (int line = 0; line < 3 && pos < doc.text.size(); ++line) {
        std::size_t eol = doc.text.find('\n', pos);
        if (eol == std::string::npos) eol = doc.text.size();
        std::string_view s = std::string_view(doc.text).substr(pos, eol - pos);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        if (s == doc.title) return true;
        pos = doc.text.find_first_not_of(" \t\r\n", eol);
        if (pos == std::string::npos) break;
    }
    return false;
}

}  // namespace

std::vector<ChunkText> document_chunks(const IndexDocument& doc) {
    ChunkText c;
    c.begin = 0;
    c.end = static_cast<std::uint32_t>(doc.text.size());
    if (doc.title.empty() || title_heads_text(doc)) {
        c.text = doc.text;
    } else if (doc.text.empty()) {
        c.text = doc.title;
    } else {
        c.text = doc.title + " " + doc.text;
    }
    return {std::move(c)};
}

}  // namespace winnow::index
