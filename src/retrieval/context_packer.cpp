// Context packing: kept hits as numbered, cited sources inside a token-counted prompt.
#include <algorithm>
#include <cctype>

#include "winnow/error.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

constexpr std::string_view kDefaultSystem =
    "You answer questions using only the numbered sources provided. Cite every source you use by its "
    "number in square brackets, like [1] or [2][3]. If the sources do not contain the answer, say that "
    "you do not know.";

std::string header_of(std::size_t n, const Candidate& c) {
    std::string h = fmt::format("[{}] {}", n, c.title.empty() ? c.doc_id : c.title);
    const std::string& where = c.source.empty() ? c.doc_id : c.source;
    if (c.end > c.begin) h += fmt::format(" ({}, bytes {}-{})", where, c.begin, c.end);
    else if (!where.empty() && where != c.title) h += fmt::format(" ({})", where);
    return h;
}

// The longest prefix of `text` ending at a word boundary with at most `budget` tokens.
std::string shorten(const std::string& text, std::size_t budget, const TokenCountFn& count) {
    std::size_t lo = 0, hi = text.size();
    while (lo < hi) {  // binary search on the byte length
        const std::size_t mid = (lo + hi + 1) / 2;
        if (count(std::string_view(text).substr(0, mid)) <= budget) lo = mid;
        else hi = mid - 1;
    }
    std::size_t cut = lo;
    while (cut > 0 && cut < text.size() && !std::isspace(static_cast<unsigned char>(text[cut]))) --cut;
    if (cut == 0) cut = lo;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // stay on a code point
    std::string out = text.substr(0, cut);
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    return out + " ...";
}

}  // namespace

PackedContext pack_context(std::string_view question, const std::vector<PipelineHit>& hits, const PackConfig& config,
                           const TokenCountFn& count_tokens) {
    WINNOW_CHECK(config.template_name == "default" || config.template_name == "bare", Errc::InvalidArgument,
                 "pack: unknown template '{}' (default|bare)", config.template_name);
    const std::size_t window = config.context_tokens > 0 ? config.context_tokens : 4096;
    PackedContext out;
    out.system = config.template_name == "default" ? std::string(kDefaultSystem) : std::string();
    const std::string tail = fmt::format("Question: {}", question);
    const std::string head = "Sources:\n\n";
    const std::size_t fixed = count_tokens(out.system) + count_tokens(head) + count_tokens(tail);
    WINNOW_CHECK(fixed < window, Errc::TooLarge, "pack: the question and instructions ({} tokens) do not fit in {} tokens",
                 fixed, window);
    std::size_t used = fixed;
    std::string context;
    for (const auto& h : hits) {
        const std::size_t n = out.sources.size() + 1;
        const std::string hdr = header_of(n, h.candidate);
        std::string block = hdr + "\n" + h.candidate.text + "\n\n";
        std::size_t t = count_tokens(block);
        if (used + t > window) {
            const std::size_t hdr_tokens = count_tokens(hdr) + 2;
            const std::size_t room = window - used;
            if (room < hdr_tokens + 32) {
                ++out.n_dropped;
                continue;
            }
            block = hdr + "\n" + shorten(h.candidate.text, room - hdr_tokens - 2, count_tokens) + "\n\n";
            t = count_tokens(block);
            if (used + t > window) {
                ++out.n_dropped;
                continue;
            }
            ++out.n_shortened;
        }
        used += t;
        context += block;
        out.sources.push_back({n, h.candidate.doc_id, h.candidate.title, h.candidate.source, h.candidate.begin, h.candidate.end});
    }
    out.context = context;
    out.user = head + context + tail;
    out.n_tokens = count_tokens(out.system) + count_tokens(out.user);
    return out;
}

}  // namespace winnow
