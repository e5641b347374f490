#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "tokenizer/normalized_string.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow {

// ---- TokenizerLimits (include/winnow/tokenizer.h) ------------------------------------------
namespace {
std::atomic<std::size_t> g_max_input_bytes{TokenizerLimits{}.max_input_bytes};
std::atomic<std::uint64_t> g_retry_in_match{TokenizerLimits{}.regex_retry_limit_in_match};
std::atomic<std::uint64_t> g_retry_in_search{TokenizerLimits{}.regex_retry_limit_in_search};
std::atomic<double> g_regex_seconds{TokenizerLimits{}.regex_time_limit_seconds};
std::atomic<std::size_t> g_normalized_growth{TokenizerLimits{}.max_normalized_growth};
std::atomic<std::size_t> g_scratch_keep{TokenizerLimits{}.scratch_keep_bytes};
}  // namespace

void set_tokenizer_limits(const TokenizerLimits& limits) {
    WINNOW_CHECK(limits.max_input_bytes > 0 && limits.max_input_bytes < (std::size_t{1} << 31), Errc::InvalidArgument,
                 "tokenizer limits: max_input_bytes {} is outside [1, 2 GiB)", limits.max_input_bytes);
    WINNOW_CHECK(limits.regex_time_limit_seconds >= 0.0, Errc::InvalidArgument,
                 "tokenizer limits: regex_time_limit_seconds {} is negative", limits.regex_time_limit_seconds);
    WINNOW_CHECK(limits.max_normalized_growth >= 1 && limits.max_normalized_growth <= 1024, Errc::InvalidArgument,
                 "tokenizer limits: max_normalized_growth {} is outside [1, 1024]", limits.max_normalized_growth);
    g_max_input_bytes = limits.max_input_bytes;
    g_normalized_growth = limits.max_normalized_growth;
    g_scratch_keep = limits.scratch_keep_bytes;
    g_retry_in_match = limits.regex_retry_limit_in_match;
    g_retry_in_search = limits.regex_retry_limit_in_search;
    g_regex_seconds = limits.regex_time_limit_seconds;
}

TokenizerLimits tokenizer_limits() {
    TokenizerLimits l;
    l.max_input_bytes = g_max_input_bytes.load(std::memory_order_relaxed);
    l.regex_retry_limit_in_match = g_retry_in_match.load(std::memory_order_relaxed);
    l.regex_retry_limit_in_search = g_retry_in_search.load(std::memory_order_relaxed);
    l.regex_time_limit_seconds = g_regex_seconds.load(std::memory_order_relaxed);
    l.max_normalized_growth = g_normalized_growth.load(std::memory_order_relaxed);
    l.scratch_keep_bytes = g_scratch_keep.load(std::memory_order_relaxed);
    return l;
}

namespace tok {
std::size_t scratch_keep_bytes() noexcept { return g_scratch_keep.load(std::memory_order_relaxed); }

void throw_normalized_too_large(std::size_t size) {
    const NormalizedLimit& l = t_normalized_limit;
    WINNOW_THROW(Errc::TooLarge,
                 "tokenizer: normalizing a text of {} bytes grew it to {} bytes, over the limit of {} bytes "
                 "(TokenizerLimits::max_normalized_growth = {} times the input, plus 4096)",
                 l.input_bytes, size, l.max_bytes, l.growth);
}
}  // namespace tok

}  // namespace winnow

namespace winnow::tok {

namespace {
std::once_flag g_onig_init;

struct MatchParamFree {
    void operator()(OnigMatchParam* p) const { onig_free_match_param(p); }
};

// One OnigMatchParam per thread, set to the current limits.
OnigMatchParam* match_param(const TokenizerLimits& limits) {
    thread_local std::unique_ptr<OnigMatchParam, MatchParamFree> param;
    if (!param) {
        param.reset(onig_new_match_param());
        WINNOW_CHECK(param != nullptr, Errc::Internal, "oniguruma: out of memory");
        onig_initialize_match_param(param.get());
    }
    onig_set_retry_limit_in_match_of_match_param(param.get(), limits.regex_retry_limit_in_match);
    onig_set_retry_limit_in_search_of_match_param(param.get(), limits.regex_retry_limit_in_search);
    return param.get();
}
}  // namespace

Regex::Regex(std::string_view pattern, std::string_view where) : pattern_(pattern) {
    std::call_once(g_onig_init, [] {
        OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
        onig_initialize(encodings, 1);
    });
    OnigRegex reg = nullptr;
    OnigErrorInfo einfo;
    const auto* begin = reinterpret_cast<const OnigUChar*>(pattern_.data());
    const int rc = onig_new(&reg, begin, begin + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                            ONIG_SYNTAX_DEFAULT, &einfo);
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &einfo);
        WINNOW_THROW(Errc::Unsupported, "{}: regex /{}/ does not compile: {}", where, pattern_,
                     reinterpret_cast<const char*>(msg));
    }
    regex_ = reg;
}

Regex::~Regex() {
    if (regex_ != nullptr) onig_free(static_cast<OnigRegex>(regex_));
}

void Regex::find_all(std::string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const {
    out.clear();
    auto* reg = static_cast<OnigRegex>(regex_);
    const TokenizerLimits limits = tokenizer_limits();
    OnigMatchParam* param = match_param(limits);
    OnigRegion* region = onig_region_new();
    const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
    const auto* end = str + text.size();
    std::size_t last_end = 0;
    long last_match_end = -1;
    // Each search is bounded by the retry limits; the time limit bounds the number of searches
    // that each come close to them (checked every 64 searches).
    const auto start = std::chrono::steady_clock::now();
    std::size_t searches = 0;
    while (last_end <= text.size()) {
        onig_region_clear(region);
        const int r = onig_search_with_param(reg, str, end, str + last_end, end, region, ONIG_OPTION_NONE, param);
        if (r == ONIG_MISMATCH) break;
        if (r < 0) {
            onig_region_free(region, 1);
            if (r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER || r == ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER) {
                const bool in_match = r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER;
                WINNOW_THROW(Errc::TooLarge,
                             "tokenizer regex /{}/: matching a text of {} bytes needs more than {} backtracking "
                             "steps (TokenizerLimits::regex_retry_limit_in_{})",
                             pattern_, text.size(),
                             in_match ? limits.regex_retry_limit_in_match : limits.regex_retry_limit_in_search,
                             in_match ? "match" : "search");
            }
            OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(msg, r);
            const Errc code =
                r == ONIGERR_MATCH_STACK_LIMIT_OVER || r == ONIGERR_MEMORY ? Errc::TooLarge : Errc::Internal;
            WINNOW_THROW(code, "tokenizer regex /{}/: matching a text of {} bytes failed: {}", pattern_, text.size(),
                         reinterpret_cast<const char*>(msg));
        }
        if (limits.regex_time_limit_seconds > 0.0 && (++searches & 63) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
                limits.regex_time_limit_seconds) {
            onig_region_free(region, 1);
            WINNOW_THROW(Errc::TooLarge,
                         "tokenizer regex /{}/: matching a text of {} bytes takes more than {} s "
                         "(TokenizerLimits::regex_time_limit_seconds)",
                         pattern_, text.size(), limits.regex_time_limit_seconds);
        }
        const auto s = static_cast<std::size_t>(region->beg[0]);
        const auto e = static_cast<std::size_t>(region->end[0]);
        if (s == e && static_cast<long>(e) == last_match_end) {
            // An empty match right after the previous match: step one character forward.
            if (last_end >= text.size()) break;
            last_end += utf8_seq_len(static_cast<unsigned char>(text[last_end]));
            continue;
        }
        last_end = e;
        last_match_end = static_cast<long>(e);
        out.emplace_back(static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(e));
        if (s == e && e >= text.size()) break;
    }
    onig_region_free(region, 1);
}

std::string Regex::escape(std::string_view literal) {
    std::string out;
    out.reserve(literal.size() * 2);
    for (char c : literal) {
        switch (c) {
        case '\\': case '.': case '+': case '*': case '?': case '(': case ')': case '|': case '[': case ']':
        case '{': case '}': case '^': case '$': case '#': case '&': case '-': case '~':
            out.push_back('\\');
            out.push_back(c);
            break;
        case ' ':
            out.push_back(' ');
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace winnow::tok
