// HTML to text with structure: markup stripped, script/style dropped, entities decoded, block
// elements mapped to blocks (h1-h6 headings, li list items, tr table rows with " | " between
// cells, pre code, everything else paragraphs). Forgiving: any byte string parses.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "ingest/document.h"

namespace winnow::ingest {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes the entity at s[i] == '&'; returns the number of bytes consumed (0: not an entity).
std::size_t decode_entity(std::string_view s, std::size_t i, std::string& out) {
    static const std::array<std::pair<std::string_view, std::uint32_t>, 24> kNamed = {{
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
        {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"rsquo", 0x2019}, {"lsquo", 0x2018},
        {"rdquo", 0x201D}, {"ldquo", 0x201C}, {"euro", 0x20AC}, {"pound", 0xA3}, {"copy", 0xA9},
        {"reg", 0xAE}, {"trade", 0x2122}, {"deg", 0xB0}, {"middot", 0xB7}, {"bull", 0x2022},
        {"times", 0xD7}, {"shy", 0xAD}, {"sect", 0xA7},
    }};
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return 0;
    std::string_view name = s.substr(i + 1, semi - i - 1);
    if (name.empty()) return 0;
    if (name[0] == '#') {
        std::uint32_t cp = 0;
        const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        std::string_view digits = name.substr(hex ? 2 : 1);
        if (digits.empty()) return 0;
        for (char c : digits) {
            int v = -1;
            if (c >= '0' && c <= '9') v = c - '0';
            else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
            if (v < 0) return 0;
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
            if (cp > 0x10FFFF) cp = 0x110000;
        }
        if (cp == 0xA0) cp = ' ';
        if (cp == 0xAD) return semi - i + 1;
        append_utf8(out, cp);
        return semi - i + 1;
    }
    for (const auto& [n, cp] : kNamed) {
        if (n == name) {
            if (cp != 0xAD) append_utf8(out, cp);
            return semi - i + 1;
        }
    }
    return 0;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

class HtmlBuilder {
public:
    explicit HtmlBuilder(Document& doc) : doc_(doc) {}

    void start_block(BlockKind kind, int level = 0) {
        flush();
        kind_ = kind;
        level_ = level;
    }
    void flush() {
        while (!buf_.empty() && buf_.back() == ' ') buf_.pop_back();
        if (!buf_.empty()) {
            if (!doc_.text.empty()) doc_.text += (kind_ == BlockKind::TableRow && last_kind_ == BlockKind::TableRow) ||
                                                         (kind_ == BlockKind::ListItem && last_kind_ == BlockKind::ListItem)
                                                     ? "\n"
                                                     : "\n\n";
            Block b{kind_, static_cast<std::uint32_t>(doc_.text.size()), 0, level_};
            doc_.text += buf_;
            b.end = static_cast<std::uint32_t>(doc_.text.size());
            if (kind_ == BlockKind::TableRow) {
                if (row_has_th_ && !table_header_) table_header_ = std::make_pair(b.begin, b.end);
                if (table_header_) {
                    b.header_begin = table_header_->first;
                    b.header_end = table_header_->second;
                }
            }
            doc_.blocks.push_back(b);
            last_kind_ = kind_;
            if (kind_ == BlockKind::Heading && first_h1_.empty() && level_ == 1) first_h1_ = buf_;
            if (kind_ == BlockKind::Heading && first_heading_.empty()) first_heading_ = buf_;
        }
        buf_.clear();
        kind_ = BlockKind::Paragraph;
        level_ = 0;
        row_has_th_ = false;
        cells_ = 0;
    }
    void text(std::string_view s, bool pre) {
        for (char c : s) {
            const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f';
            if (pre) {
                if (c != '\r') buf_ += c;
            } else if (space) {
                if (!buf_.empty() && buf_.back() != ' ' && buf_.back() != '\n') buf_ += ' ';
            } else {
                buf_ += c;
            }
        }
    }
    void line_break() {
        while (!buf_.empty() && buf_.back() == ' ') buf_.pop_back();
        if (!buf_.empty()) buf_ += '\n';
    }
    void cell(bool th) {
        if (kind_ != BlockKind::TableRow) start_block(BlockKind::TableRow);
        while (!buf_.empty() && buf_.back() == ' ') buf_.pop_back();
        if (cells_ > 0) buf_ += " | ";
        ++cells_;
        if (th) row_has_th_ = true;
    }
    void new_table() {
        flush();
        table_header_.reset();
    }
    BlockKind kind() const { return kind_; }

    std::string first_h1_, first_heading_;

private:
    Document& doc_;
    std::string buf_;
    BlockKind kind_ = BlockKind::Paragraph;
    BlockKind last_kind_ = BlockKind::Paragraph;
    int level_ = 0;
    bool row_has_th_ = false;
    int cells_ = 0;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> table_header_;
};

bool is_block_tag(const std::string& t) {
    static const char* kTags[] = {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside",
                                  "blockquote", "ul", "ol", "dl", "dt", "dd", "form", "figure", "figcaption",
                                  "hr", "body", "html", "address", "caption", "details", "summary", "fieldset"};
    return std::any_of(std::begin(kTags), std::end(kTags), [&](const char* k) { return t == k; });
}

}  // namespace

Document parse_html(std::string_view html, std::string_view source) {
    Document doc;
    doc.format = Format::Html;
    doc.source_path = std::string(source);
    doc.id = doc.source_path;
    HtmlBuilder b(doc);
    std::string title;
    bool in_title = false;
    int pre_depth = 0;
    std::string decoded;
    std::size_t i = 0;
    const std::size_t n = html.size();
    while (i < n) {
        if (html[i] == '<') {
            if (html.compare(i, 4, "<!--") == 0) {
                const std::size_t end = html.find("-->", i + 4);
                i = end == std::string_view::npos ? n : end + 3;
                continue;
            }
            if (i + 1 < n && (html[i + 1] == '!' || html[i + 1] == '?')) {
                const std::size_t end = html.find('>', i);
                i = end == std::string_view::npos ? n : end + 1;
                continue;
            }
            const bool closing = i + 1 < n && html[i + 1] == '/';
            std::size_t j = i + (closing ? 2 : 1);
            const std::size_t name_begin = j;
            while (j < n && (std::isalnum(static_cast<unsigned char>(html[j])) || html[j] == '-')) ++j;
            if (j == name_begin) {  // a lone '<' is text
                b.text("<", pre_depth > 0);
                ++i;
                continue;
            }
            const std::string tag = lower(html.substr(name_begin, j - name_begin));
            // Skip attributes, honouring quotes.
            char quote = 0;
            while (j < n && (quote || html[j] != '>')) {
                if (quote) {
                    if (html[j] == quote) quote = 0;
                } else if (html[j] == '"' || html[j] == '\'') {
                    quote = html[j];
                }
                ++j;
            }
            i = j < n ? j + 1 : n;
            if (!closing && (tag == "script" || tag == "style" || tag == "noscript" || tag == "template" ||
                             tag == "svg" || tag == "iframe" || tag == "object")) {
                const std::string close = "</" + tag;
                std::size_t k = i;
                for (;;) {
                    k = html.find("</", k);
                    if (k == std::string_view::npos) break;
                    if (lower(html.substr(k, close.size())) == close) break;
                    k += 2;
                }
                if (k == std::string_view::npos) {
                    i = n;
                } else {
                    const std::size_t gt = html.find('>', k);
                    i = gt == std::string_view::npos ? n : gt + 1;
                }
                continue;
            }
            if (tag == "title") {
                in_title = !closing;
                continue;
            }
            if (tag.size() == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6') {
                if (closing) b.flush();
                else b.start_block(BlockKind::Heading, tag[1] - '0');
            } else if (tag == "li") {
                if (closing) b.flush();
                else b.start_block(BlockKind::ListItem);
            } else if (tag == "table") {
                b.new_table();
            } else if (tag == "tr") {
                if (closing) b.flush();
                else b.start_block(BlockKind::TableRow);
            } else if (tag == "td" || tag == "th") {
                if (!closing) b.cell(tag == "th");
            } else if (tag == "pre") {
                if (closing) {
                    pre_depth = std::max(0, pre_depth - 1);
                    b.flush();
                } else {
                    b.start_block(BlockKind::Code);
                    ++pre_depth;
                }
            } else if (tag == "br") {
                b.line_break();
            } else if (tag == "thead" || tag == "tbody" || tag == "tfoot") {
                // rows carry the structure
            } else if (is_block_tag(tag)) {
                if (b.kind() != BlockKind::ListItem || tag == "ul" || tag == "ol") b.flush();
            }
            continue;
        }
        // Text up to the next tag, entities decoded.
        std::size_t end = html.find('<', i);
        if (end == std::string_view::npos) end = n;
        decoded.clear();
        for (std::size_t k = i; k < end; ++k) {
            if (html[k] == '&') {
                const std::size_t used = decode_entity(html, k, decoded);
                if (used > 0) {
                    k += used - 1;
                    continue;
                }
            }
            decoded += html[k];
        }
        if (in_title) title += decoded;
        else b.text(decoded, pre_depth > 0);
        i = end;
    }
    b.flush();
    std::string t;
    for (char c : title) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!t.empty() && t.back() != ' ') t += ' ';
        } else {
            t += c;
        }
    }
    while (!t.empty() && t.back() == ' ') t.pop_back();
    doc.title = !t.empty() ? t : !b.first_h1_.empty() ? b.first_h1_ : b.first_heading_;
    if (doc.title.empty()) doc.title = std::filesystem::path(std::string(source)).stem().string();
    return doc;
}

}  // namespace winnow::ingest
