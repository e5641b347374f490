// Plain text and Markdown structure: paragraphs, ATX/setext headings, list items (with their
// continuation lines), pipe tables (row by row, header remembered), fenced code, front matter.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "ingest/document.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace {

struct Line {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;  // without the newline
    std::string_view text;
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::size_t end = nl;
        if (end > start && text[end - 1] == '\r') --end;
        lines.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end), text.substr(start, end - start)});
        if (nl == text.size()) break;
        start = nl + 1;
    }
    return lines;
}

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::size_t indent_of(std::string_view s) {
    std::size_t n = 0;
    while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
    return n;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

int atx_level(std::string_view s) {
    s = s.substr(std::min<std::size_t>(indent_of(s), 3));
    int level = 0;
    while (level < static_cast<int>(s.size()) && s[level] == '#') ++level;
    if (level == 0 || level > 6) return 0;
    if (static_cast<std::size_t>(level) < s.size() && s[level] != ' ' && s[level] != '\t') return 0;
    return level;
}

bool is_fence(std::string_view s) {
    s = s.substr(indent_of(s));
    return s.rfind("```", 0) == 0 || s.rfind("~~~", 0) == 0;
}

bool is_list_item(std::string_view s) {
    s = s.substr(indent_of(s));
    if (s.size() >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t')) return true;
    std::size_t i = 0;
    while (i < s.size() && i < 9 && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > 0 && i + 1 < s.size() && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ';
}

bool is_table_line(std::string_view s) {
    s = trim(s);
    return s.size() >= 2 && s.front() == '|';
}

bool is_table_separator(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.find('-') == std::string_view::npos) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '|' || c == '-' || c == ':' || c == ' ' || c == '\t'; });
}

bool is_setext_underline(std::string_view s, char c) {
    s = trim(s);
    return s.size() >= 2 && std::all_of(s.begin(), s.end(), [c](char x) { return x == c; });
}

bool is_thematic_break(std::string_view s) {
    s = trim(s);
    if (s.size() < 3) return false;
    const char c = s.front();
    if (c != '-' && c != '*' && c != '_') return false;
    return std::all_of(s.begin(), s.end(), [c](char x) { return x == c || x == ' '; });
}

std::string file_stem(std::string_view source) {
    return std::filesystem::path(std::string(source)).stem().string();
}

}  // namespace

std::string heading_text(std::string_view line) {
    std::string_view s = trim(line);
    while (!s.empty() && s.front() == '#') s.remove_prefix(1);
    while (!s.empty() && (s.back() == '#' || s.back() == ' ')) s.remove_suffix(1);
    return std::string(trim(s));
}

Format parse_format(std::string_view name) {
    if (name == "auto") return Format::Auto;
    if (name == "text" || name == "txt") return Format::Text;
    if (name == "markdown" || name == "md") return Format::Markdown;
    if (name == "html" || name == "htm") return Format::Html;
    if (name == "pdf") return Format::Pdf;
    if (name == "jsonl" || name == "ndjson") return Format::Jsonl;
    WINNOW_THROW(Errc::InvalidArgument, "unknown document format '{}' (auto|text|markdown|html|pdf|jsonl)", name);
}

std::string_view format_name(Format format) noexcept {
    switch (format) {
        case Format::Auto: return "auto";
        case Format::Text: return "text";
        case Format::Markdown: return "markdown";
        case Format::Html: return "html";
        case Format::Pdf: return "pdf";
        case Format::Jsonl: return "jsonl";
    }
    return "text";
}

Format detect_format(std::string_view path) {
    std::string ext = std::filesystem::path(std::string(path)).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".md" || ext == ".markdown" || ext == ".mdx") return Format::Markdown;
    if (ext == ".html" || ext == ".htm" || ext == ".xhtml") return Format::Html;
    if (ext == ".pdf") return Format::Pdf;
    if (ext == ".jsonl" || ext == ".ndjson") return Format::Jsonl;
    return Format::Text;
}

Document parse_text(std::string text, std::string_view source) {
    Document doc;
    doc.format = Format::Text;
    doc.source_path = std::string(source);
    doc.id = doc.source_path;
    doc.text = std::move(text);
    const auto lines = split_lines(doc.text);
    std::size_t i = 0;
    while (i < lines.size()) {
        if (blank(lines[i].text)) {
            ++i;
            continue;
        }
        const std::uint32_t begin = lines[i].begin + static_cast<std::uint32_t>(indent_of(lines[i].text));
        std::uint32_t end = lines[i].end;
        const bool item = is_list_item(lines[i].text);
        ++i;
        // A list item ends at the next item; a paragraph at a blank line.
        while (i < lines.size() && !blank(lines[i].text) && !is_list_item(lines[i].text)) end = lines[i++].end;
        doc.blocks.push_back({item ? BlockKind::ListItem : BlockKind::Paragraph, begin, end});
    }
    for (const auto& b : doc.blocks) {
        std::string_view first = doc.block_text(b).substr(0, doc.block_text(b).find('\n'));
        if (!trim(first).empty() && first.size() <= 120) {
            doc.title = std::string(trim(first));
            break;
        }
    }
    if (doc.title.empty()) doc.title = file_stem(source);
    return doc;
}

Document parse_markdown(std::string text, std::string_view source) {
    Document doc;
    doc.format = Format::Markdown;
    doc.source_path = std::string(source);
    doc.id = doc.source_path;
    doc.text = std::move(text);
    const auto lines = split_lines(doc.text);
    std::size_t i = 0;
    std::string front_title;
    // YAML front matter: skipped, but its title: is used.
    if (!lines.empty() && trim(lines[0].text) == "---") {
        for (std::size_t j = 1; j < lines.size(); ++j) {
            const std::string_view t = trim(lines[j].text);
            if (t == "---" || t == "...") {
                i = j + 1;
                break;
            }
            if (t.rfind("title:", 0) == 0) {
                std::string_view v = trim(t.substr(6));
                if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
                front_title = std::string(v);
            }
        }
    }
    auto push = [&](BlockKind kind, std::uint32_t begin, std::uint32_t end, int level = 0) {
        if (end > begin) doc.blocks.push_back({kind, begin, end, level});
    };
    while (i < lines.size()) {
        const Line& line = lines[i];
        if (blank(line.text) || is_thematic_break(line.text)) {
            ++i;
            continue;
        }
        if (int level = atx_level(line.text); level > 0) {
            push(BlockKind::Heading, line.begin + static_cast<std::uint32_t>(indent_of(line.text)), line.end, level);
            ++i;
            continue;
        }
        if (is_fence(line.text)) {
            const std::string_view fence = trim(line.text).substr(0, 3);
            std::uint32_t end = line.end;
            std::size_t j = i + 1;
            for (; j < lines.size(); ++j) {
                end = lines[j].end;
                if (trim(lines[j].text).rfind(fence, 0) == 0) break;
            }
            push(BlockKind::Code, line.begin, end);
            i = std::min(j + 1, lines.size());
            continue;
        }
        if (is_table_line(line.text)) {
            // Header = first row + separator when the second line is a separator.
            std::uint32_t header_begin = 0, header_end = 0;
            std::size_t j = i;
            if (j + 1 < lines.size() && is_table_separator(lines[j + 1].text)) {
                header_begin = lines[j].begin;
                header_end = lines[j + 1].end;
                Block b{BlockKind::TableRow, lines[j].begin, lines[j + 1].end};
                b.header_begin = header_begin;
                b.header_end = header_end;
                doc.blocks.push_back(b);
                j += 2;
            }
            for (; j < lines.size() && is_table_line(lines[j].text); ++j) {
                Block b{BlockKind::TableRow, lines[j].begin, lines[j].end};
                b.header_begin = header_begin;
                b.header_end = header_end;
                doc.blocks.push_back(b);
            }
            i = std::max(j, i + 1);
            continue;
        }
        if (is_list_item(line.text)) {
            const std::size_t base = indent_of(line.text);
            std::uint32_t end = line.end;
            std::size_t j = i + 1;
            // Continuation lines (lazy or indented) belong to the item; every item, nested ones
            // too, is a block of its own.
            while (j < lines.size() && !blank(lines[j].text) && !is_list_item(lines[j].text) &&
                   atx_level(lines[j].text) == 0 && !is_table_line(lines[j].text) && !is_fence(lines[j].text)) {
                end = lines[j].end;
                ++j;
            }
            push(BlockKind::ListItem, line.begin + static_cast<std::uint32_t>(base), end);
            i = j;
            continue;
        }
        // A paragraph: until a blank line or another construct; setext heading if underlined.
        std::uint32_t begin = line.begin + static_cast<std::uint32_t>(indent_of(line.text));
        std::uint32_t end = line.end;
        std::size_t j = i + 1;
        bool heading = false;
        int level = 0;
        while (j < lines.size() && !blank(lines[j].text)) {
            const std::string_view t = lines[j].text;
            if (is_setext_underline(t, '=') || (is_setext_underline(t, '-') && j == i + 1)) {
                heading = true;
                level = t.find('=') != std::string_view::npos ? 1 : 2;
                ++j;
                break;
            }
            if (atx_level(t) > 0 || is_fence(t) || is_list_item(t) || is_table_line(t)) break;
            end = lines[j].end;
            ++j;
        }
        push(heading ? BlockKind::Heading : BlockKind::Paragraph, begin, end, level);
        i = j;
    }
    doc.title = front_title;
    if (doc.title.empty()) {
        for (const auto& b : doc.blocks) {
            if (b.kind == BlockKind::Heading && b.level == 1) {
                doc.title = heading_text(doc.block_text(b));
                break;
            }
        }
    }
    if (doc.title.empty()) {
        for (const auto& b : doc.blocks) {
            if (b.kind == BlockKind::Heading) {
                doc.title = heading_text(doc.block_text(b));
                break;
            }
        }
    }
    if (doc.title.empty()) doc.title = file_stem(source);
    return doc;
}

}  // namespace winnow::ingest
