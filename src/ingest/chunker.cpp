#include "ingest/chunker.h"

#include <algorithm>
#include <cctype>

#include "winnow/error.h"

namespace winnow::ingest {
namespace {

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '_'; }

struct Unit {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::size_t tokens = 0;
    bool heading = false;
    int section = 0;
    std::size_t path = 0;  // index into the list of heading paths
    std::uint32_t header_begin = 0;
    std::uint32_t header_end = 0;
};

std::string_view slice(const std::string& s, std::uint32_t b, std::uint32_t e) {
    return std::string_view(s).substr(b, e - b);
}

bool is_abbreviation(std::string_view before) {
    // The word before a period: single letters ("e.g", "U.S") and common abbreviations.
    std::size_t k = before.size();
    while (k > 0 && (std::isalpha(static_cast<unsigned char>(before[k - 1])) || before[k - 1] == '.')) --k;
    std::string word(before.substr(k));
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
    if (word.size() == 1) return true;
    static const char* kAbbrev[] = {"mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co", "corp", "vs", "etc", "e.g",
                                    "i.e", "no", "fig", "approx", "dept", "st", "jr", "sr"};
    return std::any_of(std::begin(kAbbrev), std::end(kAbbrev), [&](const char* a) { return word == a; });
}

// Splits [b, e) into pieces at most `budget` tokens: sentences first, then word windows.
void split_block(const std::string& text, std::uint32_t b, std::uint32_t e, bool by_lines, std::size_t budget,
                 const TokenCounter& counter, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) {
    std::vector<std::size_t> starts;
    std::string_view s = slice(text, b, e);
    if (by_lines) {
        starts.push_back(0);
        for (std::size_t i = 0; i + 1 < s.size(); ++i) {
            if (s[i] == '\n') starts.push_back(i + 1);
        }
    } else {
        starts = sentence_starts(s);
    }
    starts.push_back(s.size());
    // Each sentence is a unit of its own (the chunk assembly groups them, and overlap can repeat
    // whole sentences); a sentence over budget is cut into word windows.
    for (std::size_t k = 0; k + 1 < starts.size(); ++k) {
        const std::uint32_t sb = b + static_cast<std::uint32_t>(starts[k]);
        std::uint32_t se = b + static_cast<std::uint32_t>(starts[k + 1]);
        while (se > sb && std::isspace(static_cast<unsigned char>(text[se - 1]))) --se;
        if (se <= sb) continue;
        if (counter.count(slice(text, sb, se)) <= budget) {
            out.emplace_back(sb, se);
            continue;
        }
        std::uint32_t wb = sb;
        std::uint32_t i = sb;
        std::uint32_t last_end = sb;
        std::size_t wt = 0;
        while (i < se) {
            while (i < se && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
            const std::uint32_t word_begin = i;
            while (i < se && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
            if (i == word_begin) break;
            const std::size_t tw = counter.count(slice(text, word_begin, i));
            if (wt > 0 && wt + tw > budget) {
                out.emplace_back(wb, last_end);
                wb = word_begin;
                wt = 0;
            }
            wt += tw;
            last_end = i;
        }
        if (last_end > wb) out.emplace_back(wb, last_end);
    }
}

std::string join_path(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& p : path) {
        if (p.empty()) continue;
        if (!out.empty()) out += " > ";
        out += p;
    }
    return out;
}

}  // namespace

TokenCounter TokenCounter::approximate() {
    return TokenCounter(
        [](std::string_view text) {
            std::size_t n = 0;
            std::size_t i = 0;
            while (i < text.size()) {
                const auto c = static_cast<unsigned char>(text[i]);
                if (std::isspace(c)) {
                    ++i;
                } else if (is_word_byte(c)) {
                    std::size_t len = 0;
                    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) {
                        // count code points, not bytes
                        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++len;
                        ++i;
                    }
                    n += (len + 5) / 6;
                } else {
                    ++n;
                    ++i;
                }
            }
            return n;
        },
        "approximate");
}

std::vector<std::size_t> sentence_starts(std::string_view s) {
    std::vector<std::size_t> starts{0};
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '.' && c != '!' && c != '?') continue;
        std::size_t j = i + 1;
        while (j < s.size() && (s[j] == '"' || s[j] == '\'' || s[j] == ')')) ++j;
        if (j >= s.size() || !std::isspace(static_cast<unsigned char>(s[j]))) continue;
        while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j >= s.size()) break;
        const auto next = static_cast<unsigned char>(s[j]);
        if (!(std::isupper(next) || std::isdigit(next) || next == '"' || next == '(' || next >= 0x80 || next == '*')) continue;
        if (c == '.' && is_abbreviation(s.substr(0, i))) continue;
        starts.push_back(j);
    }
    return starts;
}

std::vector<Chunk> chunk_document(const Document& doc, const ChunkOptions& options, const TokenCounter& counter) {
    WINNOW_CHECK(options.size_tokens >= 8, Errc::InvalidArgument, "chunk size {} tokens is too small (at least 8)",
                 options.size_tokens);
    WINNOW_CHECK(options.overlap_tokens < options.size_tokens, Errc::InvalidArgument,
                 "chunk overlap ({}) must be smaller than the chunk size ({})", options.overlap_tokens, options.size_tokens);
    // Heading paths, one per section.
    std::vector<std::vector<std::string>> paths;
    std::vector<std::pair<int, std::string>> stack;
    auto current_path = [&](bool include_title) {
        std::vector<std::string> p;
        if (include_title && options.title_context && !doc.title.empty() &&
            (stack.empty() || stack.front().second != doc.title)) {
            p.push_back(doc.title);
        }
        for (const auto& [level, text] : stack) p.push_back(text);
        return p;
    };
    std::vector<std::string> contexts;
    auto path_index = [&](const std::vector<std::string>& p) {
        const std::string joined = options.heading_context ? join_path(p) : std::string();
        if (contexts.empty() || contexts.back() != joined) contexts.push_back(joined);
        return contexts.size() - 1;
    };

    // Text extracted from HTML or PDF often has the title as a plain line near its start (perhaps after a
    // navigation line): that paragraph, before any heading, is the title heading (else chunks would carry the
    // title twice, as context and as text), and what precedes it gets no title context.
    std::size_t title_block = doc.blocks.size();
    if (!doc.title.empty()) {
        for (std::size_t k = 0; k < doc.blocks.size() && doc.blocks[k].kind != BlockKind::Heading; ++k) {
            const Block& b = doc.blocks[k];
            if (b.kind == BlockKind::Paragraph && b.end > b.begin && heading_text(doc.block_text(b)) == doc.title) {
                title_block = k;
                break;
            }
        }
    }
    std::vector<Unit> units;
    int section = 0;
    path_index(current_path(title_block == doc.blocks.size()));
    for (std::size_t k = 0; k < doc.blocks.size(); ++k) {
        Block b = doc.blocks[k];
        if (b.end <= b.begin) continue;
        if (k == title_block) {
            b.kind = BlockKind::Heading;
            b.level = 1;
        }
        if (b.kind == BlockKind::Heading) {
            while (!stack.empty() && stack.back().first >= b.level) stack.pop_back();
            ++section;
            Unit u;
            u.begin = b.begin;
            u.end = b.end;
            u.heading = true;
            u.section = section;
            u.tokens = counter.count(doc.block_text(b));
            const std::string text = heading_text(doc.block_text(b));
            // Its ancestors (without the title when the heading is the title itself).
            u.path = path_index(current_path(text != doc.title));
            units.push_back(u);
            stack.emplace_back(b.level, text);
            path_index(current_path(true));
            continue;
        }
        const std::size_t path = contexts.size() - 1;
        const std::size_t ctx_tokens = contexts[path].empty() ? 0 : counter.count(contexts[path]) + 1;
        std::size_t header_tokens = 0;
        const bool has_header = b.kind == BlockKind::TableRow && b.header_end > b.header_begin && b.begin > b.header_begin;
        if (has_header) header_tokens = counter.count(slice(doc.text, b.header_begin, b.header_end));
        const std::size_t budget =
            std::max<std::size_t>(4, options.size_tokens > ctx_tokens + header_tokens ? options.size_tokens - ctx_tokens - header_tokens : 4);
        const std::size_t t = counter.count(doc.block_text(b));
        std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces;
        // A table row is atomic: one longer than the budget becomes a chunk of its own (with the header),
        // over the size rather than cut into cells that mean nothing alone.
        if (t <= budget || b.kind == BlockKind::TableRow) {
            pieces.emplace_back(b.begin, b.end);
        } else {
            split_block(doc.text, b.begin, b.end, b.kind == BlockKind::Code, budget, counter, pieces);
        }
        for (const auto& [pb, pe] : pieces) {
            Unit u;
            u.begin = pb;
            u.end = pe;
            u.tokens = pieces.size() == 1 ? t : counter.count(slice(doc.text, pb, pe));
            u.section = section;
            u.path = path;
            if (b.kind == BlockKind::TableRow) {
                u.header_begin = b.header_begin;
                u.header_end = b.header_end;
            }
            units.push_back(u);
        }
    }

    std::vector<Chunk> chunks;
    auto build = [&](std::size_t start, std::size_t end) {
        Chunk c;
        c.begin = units[start].begin;
        c.end = units[end - 1].end;
        c.context = contexts[units[start].path];
        if (!c.context.empty()) c.text = c.context + "\n";
        const Unit& first = units[start];
        if (first.header_end > first.header_begin && first.begin > first.header_begin) {
            c.text.append(slice(doc.text, first.header_begin, first.header_end));
            c.text += '\n';
        }
        c.text.append(slice(doc.text, c.begin, c.end));
        c.n_tokens = counter.count(c.text);
        return c;
    };
    std::size_t i = 0;
    const std::size_t n = units.size();
    while (i < n) {
        const std::size_t start = i;
        const Unit& first = units[start];
        const std::string& ctx = contexts[first.path];
        std::size_t fixed = ctx.empty() ? 0 : counter.count(ctx) + 1;
        if (first.header_end > first.header_begin && first.begin > first.header_begin) {
            fixed += counter.count(slice(doc.text, first.header_begin, first.header_end));
        }
        const std::size_t budget = options.size_tokens > fixed ? options.size_tokens - fixed : 1;
        std::size_t tokens = 0;
        std::size_t j = start;
        while (j < n) {
            if (j > start && units[j].heading && static_cast<double>(tokens) >= options.min_fill * static_cast<double>(budget)) break;
            if (j > start && tokens + units[j].tokens > budget) break;
            tokens += units[j].tokens;
            ++j;
        }
        // Never end on a heading that has its content in the next chunk.
        while (j - 1 > start && units[j - 1].heading) --j;
        Chunk c = build(start, j);
        // The sum of the parts can differ from the count of the whole by a token or two.
        while (c.n_tokens > options.size_tokens && j - 1 > start) {
            --j;
            c = build(start, j);
        }
        c.ordinal = static_cast<std::uint32_t>(chunks.size());
        chunks.push_back(std::move(c));
        if (j >= n) break;
        // Overlap: repeat trailing units of the same section (not headings) at the next start.
        std::size_t next = j;
        if (options.overlap_tokens > 0 && !units[j].heading) {
            std::size_t carried = 0;
            while (next - 1 > start && !units[next - 1].heading && units[next - 1].section == units[j].section &&
                   carried + units[next - 1].tokens <= options.overlap_tokens) {
                carried += units[next - 1].tokens;
                --next;
            }
        }
        i = next;
    }
    return chunks;
}

}  // namespace winnow::ingest
