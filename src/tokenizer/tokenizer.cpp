// winnow::Tokenizer: loads tokenizer.json and runs the pipeline
// added tokens -> normalizer -> pre-tokenizer -> model -> post-processor -> truncation -> padding.
#include "winnow/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/json.h"
#include "core/thread_pool.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/decoders/decoder.h"
#include "tokenizer/models/model.h"
#include "tokenizer/normalizers/normalizer.h"
#include "tokenizer/pre_tokenizers/pre_tokenizer.h"
#include "tokenizer/processors/processor.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow {

using tok::AddedSplit;
using tok::AddedToken;
using tok::Align;
using tok::NormalizedString;
using tok::PreTokenized;

struct Tokenizer::Impl {
    std::string where;
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
    std::unique_ptr<tok::Model> model;
    std::unique_ptr<tok::PostProcessor> post_processor;
    std::unique_ptr<tok::Decoder> decoder;
    std::vector<AddedToken> added;                             // as listed in the file
    std::unordered_map<std::string, std::int32_t> added_by_content;
    std::unordered_map<std::int32_t, std::size_t> added_by_id;  // id -> index in `added`
    std::unordered_set<std::string> special_contents;
    // HF's normalized_cache: decode() shows a normalized added token as the normalizer's output
    // (e.g. Llama's "<s>" becomes "\u2581<s>", which is then no longer recognized as special).
    std::unordered_map<std::int32_t, std::string> decode_form;
    tok::AddedMatcher raw_matcher;         // normalized = false
    tok::AddedMatcher normalized_matcher;  // normalized = true (patterns normalized)
    std::optional<TruncationOptions> truncation;
    std::optional<PaddingOptions> padding;
    std::size_t model_max_length = 0;

    std::optional<std::int32_t> token_to_id(std::string_view t) const {
        if (auto it = added_by_content.find(std::string(t)); it != added_by_content.end()) return it->second;
        return model->vocab().find(t);
    }
    std::optional<std::string> id_to_token(std::int32_t id) const {
        if (auto it = added_by_id.find(id); it != added_by_id.end()) return added[it->second].content;
        if (const std::string* s = model->vocab().token(id)) return *s;
        return std::nullopt;
    }

    // `trunc`: the truncation in effect; as HF does, tokenization stops early (at a pre-token
    // boundary) once max_length tokens exist, except for the first sequence under only_second.
    Encoding encode_single(std::string_view text, std::int32_t type_id,
                           const std::optional<TruncationOptions>& trunc) const;
};

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    WINNOW_CHECK(in.good(), Errc::NotFound, "{}: cannot open tokenizer file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    WINNOW_CHECK(!in.bad(), Errc::Io, "{}: read failed", path);
    return ss.str();
}

TruncationOptions parse_truncation(const Json& j, const std::string& where) {
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: 'truncation' must be an object or null", where);
    TruncationOptions t;
    t.max_length = json_get<std::size_t>(j, "max_length", where + " truncation");
    t.stride = json_get_or<std::size_t>(j, "stride", 0, where + " truncation");
    const std::string strategy = json_get_or<std::string>(j, "strategy", "LongestFirst", where + " truncation");
    if (strategy == "LongestFirst") t.strategy = TruncationStrategy::LongestFirst;
    else if (strategy == "OnlyFirst") t.strategy = TruncationStrategy::OnlyFirst;
    else if (strategy == "OnlySecond") t.strategy = TruncationStrategy::OnlySecond;
    else WINNOW_THROW(Errc::Unsupported, "{}: unsupported truncation strategy '{}'", where, strategy);
    const std::string dir = json_get_or<std::string>(j, "direction", "Right", where + " truncation");
    WINNOW_CHECK(dir == "Right" || dir == "Left", Errc::Unsupported, "{}: unsupported truncation direction '{}'",
                 where, dir);
    t.direction = dir == "Left" ? TruncationDirection::Left : TruncationDirection::Right;
    return t;
}

PaddingOptions parse_padding(const Json& j, const std::string& where) {
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: 'padding' must be an object or null", where);
    const std::string here = where + " padding";
    PaddingOptions p;
    if (auto it = j.find("strategy"); it != j.end()) {
        if (it->is_string()) {
            WINNOW_CHECK(it->get<std::string>() == "BatchLongest", Errc::Unsupported,
                         "{}: unsupported padding strategy '{}'", here, it->get<std::string>());
        } else if (it->is_object() && it->contains("Fixed")) {
            p.fixed_length = json_get<std::size_t>(*it, "Fixed", here);
        } else {
            WINNOW_THROW(Errc::Corrupt, "{}: bad padding strategy {}", here, it->dump());
        }
    }
    const std::string dir = json_get_or<std::string>(j, "direction", "Right", here);
    WINNOW_CHECK(dir == "Right" || dir == "Left", Errc::Unsupported, "{}: unsupported padding direction '{}'", here,
                 dir);
    p.direction = dir == "Left" ? PaddingDirection::Left : PaddingDirection::Right;
    p.pad_to_multiple_of = json_get_or<std::size_t>(j, "pad_to_multiple_of", 0, here);
    constexpr std::size_t kMaxPad = 1u << 20;
    WINNOW_CHECK(p.pad_to_multiple_of <= kMaxPad && p.fixed_length.value_or(0) <= kMaxPad, Errc::TooLarge,
                 "{}: padding length over {} tokens", here, kMaxPad);
    p.pad_id = json_get_or<std::int32_t>(j, "pad_id", 0, here);
    p.pad_type_id = json_get_or<std::int32_t>(j, "pad_type_id", 0, here);
    p.pad_token = json_get_or<std::string>(j, "pad_token", "[PAD]", here);
    return p;
}

// Overflowing windows are kept up to this many tokens per encoding (hardening). HF keeps them all:
// a tokenizer.json with stride max_length - 1 makes every token start a window (memory ~ length x
// max_length), and a truncated pair merges both sides' windows as a cross product (memory ~ the
// product of both lengths: fuzz_tokenizer timed out on two 5 KB texts at max_length 20). Models
// never read the windows; within the budget the result is exactly HF's.
constexpr std::size_t kMaxOverflowTokens = std::size_t{1} << 18;

// HF Encoding::truncate (windows past kMaxOverflowTokens are not made).
void truncate_encoding(Encoding& e, std::size_t max_len, std::size_t stride, TruncationDirection direction) {
    const std::size_t len = e.ids.size();
    if (max_len >= len) return;
    if (max_len == 0) {
        Encoding whole = std::move(e);
        e = Encoding{};
        e.overflowing.push_back(std::move(whole));
        e.truncated = true;
        return;
    }
    WINNOW_CHECK(stride < max_len, Errc::InvalidArgument,
                 "truncation stride {} must be less than the max length {} left after special tokens", stride,
                 max_len);
    const std::size_t step = max_len - stride;
    std::vector<std::pair<std::size_t, std::size_t>> parts;
    if (direction == TruncationDirection::Right) {
        for (std::size_t start = 0; start < len; start += step) {
            const std::size_t stop = std::min(start + max_len, len);
            parts.emplace_back(start, stop);
            if (stop == len) break;
        }
    } else {
        // (0..len).rev().step_by(step): stop-1 = len-1, len-1-step, ...
        for (std::size_t k = 0;; ++k) {
            if (k * step > len - 1) break;
            const std::size_t stop = len - k * step;
            const std::size_t start = stop > max_len ? stop - max_len : 0;
            parts.emplace_back(start, stop);
            if (start == 0) break;
        }
    }
    auto slice = [&](std::size_t a, std::size_t b) {
        Encoding o;
        o.ids.assign(e.ids.begin() + a, e.ids.begin() + b);
        o.type_ids.assign(e.type_ids.begin() + a, e.type_ids.begin() + b);
        o.tokens.assign(e.tokens.begin() + a, e.tokens.begin() + b);
        o.offsets.assign(e.offsets.begin() + a, e.offsets.begin() + b);
        o.special_tokens_mask.assign(e.special_tokens_mask.begin() + a, e.special_tokens_mask.begin() + b);
        o.attention_mask.assign(e.attention_mask.begin() + a, e.attention_mask.begin() + b);
        return o;
    };
    Encoding result = slice(parts[0].first, parts[0].second);
    std::size_t overflow_tokens = 0;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        overflow_tokens += parts[i].second - parts[i].first;
        if (overflow_tokens > kMaxOverflowTokens) break;
        result.overflowing.push_back(slice(parts[i].first, parts[i].second));
    }
    result.truncated = true;
    e = std::move(result);
}

void truncate_encodings(Encoding& a, std::optional<Encoding>& b, const TruncationOptions& t, std::size_t max_length) {
    const std::size_t total = a.ids.size() + (b ? b->ids.size() : 0);
    if (total <= max_length) return;
    const std::size_t to_remove = total - max_length;
    switch (t.strategy) {
    case TruncationStrategy::LongestFirst:
        if (b) {
            std::size_t n1 = a.ids.size();
            std::size_t n2 = b->ids.size();
            bool swap = false;
            if (n1 > n2) {
                swap = true;
                std::swap(n1, n2);
            }
            if (n1 > max_length) {
                n2 = n1;
            } else {
                n2 = std::max(n1, max_length - n1);
            }
            if (n1 + n2 > max_length) {
                n1 = max_length / 2;
                n2 = n1 + max_length % 2;
            }
            if (swap) std::swap(n1, n2);
            truncate_encoding(a, n1, t.stride, t.direction);
            truncate_encoding(*b, n2, t.stride, t.direction);
        } else {
            truncate_encoding(a, total - to_remove, t.stride, t.direction);
        }
        break;
    case TruncationStrategy::OnlyFirst:
    case TruncationStrategy::OnlySecond: {
        Encoding* target = t.strategy == TruncationStrategy::OnlyFirst ? &a : (b ? &*b : nullptr);
        WINNOW_CHECK(target != nullptr, Errc::InvalidArgument,
                     "truncation only_second needs a second sequence");
        const std::size_t n = target->ids.size();
        WINNOW_CHECK(n > to_remove, Errc::InvalidArgument,
                     "truncation: the sequence to truncate is too short to respect max_length {}", t.max_length);
        truncate_encoding(*target, n - to_remove, t.stride, t.direction);
        break;
    }
    }
}

void pad_encoding(Encoding& e, std::size_t target, const PaddingOptions& p) {
    for (Encoding& o : e.overflowing) pad_encoding(o, target, p);
    if (e.ids.size() >= target) return;
    const std::size_t n = target - e.ids.size();
    auto pad = [&](auto& v, auto value) {
        using V = std::decay_t<decltype(v)>;
        if (p.direction == PaddingDirection::Right) v.insert(v.end(), n, typename V::value_type(value));
        else v.insert(v.begin(), n, typename V::value_type(value));
    };
    pad(e.ids, p.pad_id);
    pad(e.type_ids, p.pad_type_id);
    pad(e.tokens, p.pad_token);
    pad(e.offsets, std::pair<std::uint32_t, std::uint32_t>{0, 0});
    pad(e.special_tokens_mask, std::uint8_t{1});
    pad(e.attention_mask, std::uint8_t{0});
}

void pad_batch(std::span<Encoding> encodings, const PaddingOptions& p) {
    if (encodings.empty()) return;
    std::size_t len = 0;
    if (p.fixed_length) {
        len = *p.fixed_length;
    } else {
        for (const Encoding& e : encodings) len = std::max(len, e.ids.size());
    }
    if (p.pad_to_multiple_of > 0 && len % p.pad_to_multiple_of > 0) len += p.pad_to_multiple_of - len % p.pad_to_multiple_of;
    for (Encoding& e : encodings) pad_encoding(e, len, p);
}

// Byte offset -> char offset over the original text (HF BytesToCharOffsetConverter).
class CharOffsets {
public:
    explicit CharOffsets(std::string_view text) : size_(text.size()), ascii_(tok::is_ascii(text)) {
        if (ascii_) return;
        map_.resize(text.size());
        std::uint32_t c = 0;
        std::size_t i = 0;
        while (i < text.size()) {
            const std::size_t len = std::min(tok::utf8_seq_len(static_cast<unsigned char>(text[i])), text.size() - i);
            for (std::size_t k = 0; k < len; ++k) map_[i + k] = c;
            ++c;
            i += len;
        }
    }
    std::pair<std::uint32_t, std::uint32_t> convert(std::uint32_t s, std::uint32_t e) const {
        if (ascii_) return {s, e};
        if (s >= size_) return {s, e};
        const std::uint32_t cs = map_[s];
        if (e < size_) return {cs, map_[e]};
        const std::uint32_t last = e >= 1 && e - 1 < size_ ? map_[e - 1] : cs;
        return {cs, last + 1};
    }

private:
    std::size_t size_;
    bool ascii_;
    std::vector<std::uint32_t> map_;
};

}  // namespace

Encoding Tokenizer::Impl::encode_single(std::string_view input, std::int32_t type_id,
                                        const std::optional<TruncationOptions>& trunc) const {
    thread_local PreTokenized pt;
    thread_local NormalizedString ns;
    thread_local std::vector<AddedSplit> raw_splits;
    thread_local std::vector<AddedSplit> norm_splits;
    thread_local std::vector<const AddedToken*> split_added;  // per split: its added token or null
    const TokenizerLimits limits = tokenizer_limits();
    const std::size_t max_input = limits.max_input_bytes;
    WINNOW_CHECK(input.size() <= max_input, Errc::TooLarge,
                 "tokenizer: a text of {} bytes is over the limit of {} bytes (TokenizerLimits::max_input_bytes)",
                 input.size(), max_input);
    const tok::NormalizedLimitScope normalized_limit(input.size(), limits.max_normalized_growth);
    // The per-thread buffers keep their capacity for the next text unless a large text grew them
    // past TokenizerLimits::scratch_keep_bytes (a 1 MB text left 23-35 MB per HTTP thread).
    struct TrimScratch {
        ~TrimScratch() {
            pt.trim();
            ns.trim();
            tok::trim_scratch(raw_splits);
            tok::trim_scratch(norm_splits);
            tok::trim_scratch(split_added);
        }
    } trim_scratch;
    std::string sanitized;
    std::string_view text = input;
    if (!tok::is_ascii(text) && !tok::is_valid_utf8(text)) {
        sanitized = tok::sanitize_utf8(text);
        text = sanitized;
    }
    pt.clear();
    split_added.clear();

    auto add_token_split = [&](const NormalizedString& src, std::uint32_t a, std::uint32_t b, const AddedToken& tok) {
        const auto begin = static_cast<std::uint32_t>(pt.text.size());
        pt.text.append(src.text, a, b - a);
        pt.align.insert(pt.align.end(), src.align.begin() + a, src.align.begin() + b);
        const auto orig = src.original_range(a, b);
        tok::Split s{begin, static_cast<std::uint32_t>(pt.text.size()), orig.first, orig.second};
        s.tok_begin = static_cast<std::int32_t>(pt.tokens.size());
        pt.tokens.push_back(tok::Token{tok.id, 0, b - a, true});
        s.tok_end = static_cast<std::int32_t>(pt.tokens.size());
        pt.splits.push_back(s);
    };

    raw_matcher.split(text, raw_splits);
    for (const AddedSplit& rs : raw_splits) {
        ns.reset(text.substr(rs.start, rs.end - rs.start), rs.start);
        if (rs.token >= 0) {
            add_token_split(ns, 0, static_cast<std::uint32_t>(ns.text.size()), raw_matcher.token(rs.token));
            continue;
        }
        if (normalizer) normalizer->normalize(ns);
        normalized_matcher.split(ns.text, norm_splits);
        for (const AddedSplit& s : norm_splits) {
            if (s.token >= 0) {
                add_token_split(ns, s.start, s.end, normalized_matcher.token(s.token));
            } else if (s.start < s.end) {
                const auto orig = ns.original_range(s.start, s.end);
                pt.add(std::string_view(ns.text).substr(s.start, s.end - s.start), ns.align.data() + s.start,
                       orig.first, orig.second);
            }
        }
    }
    if (pre_tokenizer) pre_tokenizer->pre_tokenize(pt);
    const bool limit = trunc && trunc->max_length > 0 &&
                       (trunc->strategy != TruncationStrategy::OnlySecond || type_id != 0);
    auto tokenize_split = [&](tok::Split& s) {
        if (s.tokenized()) return static_cast<std::size_t>(s.tok_end - s.tok_begin);
        s.tok_begin = static_cast<std::int32_t>(pt.tokens.size());
        model->tokenize(pt.split_text(s), pt.tokens);
        s.tok_end = static_cast<std::int32_t>(pt.tokens.size());
        return static_cast<std::size_t>(s.tok_end - s.tok_begin);
    };
    if (!limit) {
        for (tok::Split& s : pt.splits) tokenize_split(s);
    } else if (trunc->direction == TruncationDirection::Right) {
        std::size_t total = 0;
        std::size_t keep = 0;
        for (tok::Split& s : pt.splits) {
            const bool was_tokenized = s.tokenized();
            total += tokenize_split(s);
            ++keep;
            if (!was_tokenized && total >= trunc->max_length) break;
        }
        pt.splits.resize(keep);
    } else {
        std::size_t total = 0;
        std::size_t first = pt.splits.size();
        for (std::size_t i = pt.splits.size(); i-- > 0;) {
            const bool was_tokenized = pt.splits[i].tokenized();
            total += tokenize_split(pt.splits[i]);
            first = i;
            if (!was_tokenized && total >= trunc->max_length) break;
        }
        pt.splits.erase(pt.splits.begin(), pt.splits.begin() + static_cast<std::ptrdiff_t>(first));
    }
    // Build the encoding in split order.
    const CharOffsets chars(text);
    Encoding enc;
    std::size_t total = 0;
    for (const tok::Split& s : pt.splits) total += static_cast<std::size_t>(s.tok_end - s.tok_begin);
    enc.ids.reserve(total);
    enc.tokens.reserve(total);
    enc.offsets.reserve(total);
    const tok::Vocab& vocab = model->vocab();
    for (const tok::Split& s : pt.splits) {
        const std::string_view st = pt.split_text(s);
        for (std::int32_t k = s.tok_begin; k < s.tok_end; ++k) {
            const tok::Token& t = pt.tokens[static_cast<std::size_t>(k)];
            enc.ids.push_back(t.id);
            if (t.raw_value) {
                enc.tokens.emplace_back(st.substr(t.start, t.end - t.start));
            } else if (const std::string* v = vocab.token(t.id)) {
                enc.tokens.push_back(*v);
            } else {
                enc.tokens.emplace_back(st.substr(t.start, t.end - t.start));
            }
            const auto o = pt.token_original(s, t);
            enc.offsets.push_back(chars.convert(o.first, o.second));
        }
    }
    enc.type_ids.assign(enc.ids.size(), type_id);
    enc.special_tokens_mask.assign(enc.ids.size(), 0);
    enc.attention_mask.assign(enc.ids.size(), 1);
    return enc;
}

Encoding Tokenizer::finish(Encoding a, std::optional<Encoding> b, const std::optional<TruncationOptions>& trunc,
                           bool add_special_tokens) const {
    const Impl& impl = *impl_;
    if (trunc && trunc->max_length > 0) {
        const std::size_t n_added = impl.post_processor ? impl.post_processor->added_tokens(b.has_value()) : 0;
        std::size_t max_length = trunc->max_length;
        if (add_special_tokens && n_added > 0) {
            WINNOW_CHECK(max_length >= n_added, Errc::InvalidArgument,
                         "truncation max_length {} is smaller than the {} special tokens added", max_length, n_added);
            max_length -= n_added;
        }
        truncate_encodings(a, b, *trunc, max_length);
        if (b && !a.overflowing.empty() && !b->overflowing.empty()) {
            // post_process merges the windows as a cross product ((A + 1) x (B + 1) pair windows);
            // over the budget none are kept (see kMaxOverflowTokens).
            const double windows = double(a.overflowing.size() + 1) * double(b->overflowing.size() + 1);
            if (windows * double(a.ids.size() + b->ids.size()) > double(kMaxOverflowTokens)) {
                a.overflowing.clear();
                b->overflowing.clear();
            }
        }
    }
    const bool truncated = a.truncated || (b && b->truncated);
    Encoding out = tok::post_process(impl.post_processor.get(), std::move(a), std::move(b), add_special_tokens);
    out.truncated = truncated;
    if (padding_) pad_batch(std::span<Encoding>(&out, 1), *padding_);
    return out;
}

Tokenizer::Tokenizer(std::shared_ptr<Impl> impl)
    : impl_(impl), truncation_(impl->truncation), padding_(impl->padding) {}

namespace {
// serde_json, which Hugging Face's loader uses, refuses JSON nested deeper than 128 levels; so do
// we, before building anything (20,000 nested Sequence normalizers overflowed the stack, and the
// component paths named in errors grew with the depth: quadratic memory). One linear scan.
constexpr std::size_t kMaxJsonDepth = 128;

void check_json_depth(std::string_view text, const std::string& where) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            WINNOW_CHECK(++depth <= kMaxJsonDepth, Errc::Corrupt,
                         "{}: JSON nested deeper than {} levels (at byte {}); Hugging Face's loader stops there too",
                         where, kMaxJsonDepth, i);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}
}  // namespace

Tokenizer Tokenizer::from_json(std::string_view json_text, std::string_view where_view) {
    const std::string where(where_view);
    check_json_depth(json_text, where);
    const Json j = parse_json(json_text, where);
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected a JSON object", where);
    auto impl = std::make_shared<Impl>();
    impl->where = where;
    auto field = [&](const char* key) -> const Json& {
        static const Json kNull;
        auto it = j.find(key);
        return it == j.end() ? kNull : *it;
    };
    auto m = j.find("model");
    WINNOW_CHECK(m != j.end(), Errc::Corrupt, "{}: missing field 'model'", where);
    impl->normalizer = tok::make_normalizer(field("normalizer"), where + ": normalizer");
    impl->pre_tokenizer = tok::make_pre_tokenizer(field("pre_tokenizer"), where + ": pre_tokenizer");
    impl->model = tok::make_model(*m, where + ": model");
    impl->post_processor = tok::make_post_processor(field("post_processor"), where + ": post_processor");
    impl->decoder = tok::make_decoder(field("decoder"), where + ": decoder");
    if (!field("truncation").is_null()) impl->truncation = parse_truncation(field("truncation"), where);
    if (!field("padding").is_null()) impl->padding = parse_padding(field("padding"), where);

    const Json& added = field("added_tokens");
    if (!added.is_null()) {
        WINNOW_CHECK(added.is_array(), Errc::Corrupt, "{}: 'added_tokens' must be an array", where);
        for (std::size_t i = 0; i < added.size(); ++i) {
            const std::string here = fmt::format("{}: added_tokens[{}]", where, i);
            const Json& a = added[i];
            AddedToken t;
            t.content = json_get<std::string>(a, "content", here);
            t.id = json_get<std::int32_t>(a, "id", here);
            WINNOW_CHECK(t.id >= 0, Errc::Corrupt, "{}: negative id", here);
            t.special = json_get_or<bool>(a, "special", false, here);
            t.single_word = json_get_or<bool>(a, "single_word", false, here);
            t.lstrip = json_get_or<bool>(a, "lstrip", false, here);
            t.rstrip = json_get_or<bool>(a, "rstrip", false, here);
            t.normalized = json_get_or<bool>(a, "normalized", !t.special, here);
            if (t.content.empty()) continue;
            WINNOW_CHECK(tok::is_valid_utf8(t.content), Errc::Corrupt, "{}: content is not valid UTF-8", here);
            // HF resolves the id through the model vocab first.
            if (auto vid = impl->model->vocab().find(t.content)) t.id = *vid;
            impl->added.push_back(std::move(t));
        }
    }
    std::vector<const AddedToken*> raw_tokens;
    std::vector<std::string> raw_patterns;
    std::vector<const AddedToken*> norm_tokens;
    std::vector<std::string> norm_patterns;
    for (std::size_t i = 0; i < impl->added.size(); ++i) {
        const AddedToken& t = impl->added[i];
        impl->added_by_content[t.content] = t.id;
        impl->added_by_id[t.id] = i;
        if (t.special) impl->special_contents.insert(t.content);
    }
    // Match tables: the last definition of a content wins, as in HF's map.
    std::unordered_set<std::string> seen;
    for (std::size_t k = impl->added.size(); k-- > 0;) {
        const AddedToken& t = impl->added[k];
        if (!seen.insert(t.content).second) continue;
        if (t.normalized) {
            std::string pattern = t.content;
            if (impl->normalizer) {
                NormalizedString ns;
                ns.reset(t.content, 0);
                impl->normalizer->normalize(ns);
                pattern = ns.text;
                if (pattern != t.content) impl->decode_form[t.id] = pattern;
            }
            norm_tokens.push_back(&t);
            norm_patterns.push_back(std::move(pattern));
        } else {
            raw_tokens.push_back(&t);
            raw_patterns.push_back(t.content);
        }
    }
    impl->raw_matcher.build(raw_tokens, raw_patterns);
    impl->normalized_matcher.build(norm_tokens, norm_patterns);
    return Tokenizer(std::move(impl));
}

namespace {

std::size_t read_model_max_length(const std::filesystem::path& dir) {
    const auto tc = dir / "tokenizer_config.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(tc, ec)) {
        const Json j = load_json_file(tc.string());
        if (auto it = j.find("model_max_length"); it != j.end() && it->is_number()) {
            const double v = it->get<double>();
            if (v > 0 && v < 1e9) return static_cast<std::size_t>(v);
        }
    }
    const auto cfg = dir / "config.json";
    if (std::filesystem::is_regular_file(cfg, ec)) {
        const Json j = load_json_file(cfg.string());
        if (auto it = j.find("max_position_embeddings"); it != j.end() && it->is_number_integer()) {
            long long v = it->get<long long>();
            const std::string type = json_get_or<std::string>(j, "model_type", "", cfg.string());
            if (type == "roberta" || type == "xlm-roberta" || type == "camembert" || type == "longformer" ||
                type == "mpnet") {
                v -= json_get_or<long long>(j, "pad_token_id", 1, cfg.string()) + 1;
            }
            if (v > 0) return static_cast<std::size_t>(v);
        }
    }
    return 0;
}

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path file = path;
    fs::path dir;
    if (fs::is_directory(file, ec)) {
        dir = file;
        file = file / "tokenizer.json";
        WINNOW_CHECK(fs::is_regular_file(file, ec), Errc::NotFound, "{}: no tokenizer.json in this folder", path);
    } else {
        WINNOW_CHECK(fs::is_regular_file(file, ec), Errc::NotFound, "{}: no such tokenizer file", path);
        dir = file.parent_path();
    }
    Tokenizer t = from_json(read_file(file.string()), file.string());
    if (!dir.empty()) std::const_pointer_cast<Impl>(t.impl_)->model_max_length = read_model_max_length(dir);
    return t;
}

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
    return finish(impl_->encode_single(text, 0, truncation_), std::nullopt, truncation_, add_special_tokens);
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, bool add_special_tokens) const {
    return finish(impl_->encode_single(a, 0, truncation_), impl_->encode_single(b, 1, truncation_), truncation_,
                  add_special_tokens);
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, const TruncationOptions& truncation,
                                bool add_special_tokens) const {
    std::optional<TruncationOptions> t = truncation;
    if (t->max_length == 0) t->max_length = impl_->model_max_length;
    if (t->max_length == 0) t.reset();
    return finish(impl_->encode_single(a, 0, t), impl_->encode_single(b, 1, t), t, add_special_tokens);
}

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string> texts, bool add_special_tokens) const {
    std::vector<Encoding> out(texts.size());
    ThreadPool::global().parallel_for(texts.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) out[i] = encode(texts[i], add_special_tokens);
    });
    if (padding_) pad_batch(out, *padding_);
    return out;
}

std::vector<Encoding> Tokenizer::encode_pair_batch(std::span<const std::pair<std::string, std::string>> pairs,
                                                   const std::optional<TruncationOptions>& truncation,
                                                   bool add_special_tokens) const {
    std::vector<Encoding> out(pairs.size());
    ThreadPool::global().parallel_for(pairs.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            out[i] = truncation ? encode_pair(pairs[i].first, pairs[i].second, *truncation, add_special_tokens)
                                : encode_pair(pairs[i].first, pairs[i].second, add_special_tokens);
        }
    });
    if (padding_) pad_batch(out, *padding_);
    return out;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (std::int32_t id : ids) {
        std::optional<std::string> t;
        if (auto it = impl_->decode_form.find(id); it != impl_->decode_form.end()) {
            t = it->second;
        } else {
            t = impl_->id_to_token(id);
        }
        if (!t) continue;
        if (skip_special_tokens && impl_->special_contents.count(*t) != 0) continue;
        tokens.push_back(std::move(*t));
    }
    if (impl_->decoder) {
        impl_->decoder->decode_chain(tokens);
        std::string out;
        for (const std::string& t : tokens) out += t;
        return out;
    }
    std::string out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0) out += ' ';
        out += tokens[i];
    }
    return out;
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const { return impl_->token_to_id(token); }
std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const { return impl_->id_to_token(id); }

std::size_t Tokenizer::vocab_size() const {
    std::size_t n = impl_->model->vocab().size();
    for (const AddedToken& t : impl_->added) {
        if (!impl_->model->vocab().find(t.content)) ++n;
    }
    return n;
}

const std::optional<TruncationOptions>& Tokenizer::truncation() const { return truncation_; }
void Tokenizer::set_truncation(std::optional<TruncationOptions> truncation) { truncation_ = std::move(truncation); }
const std::optional<PaddingOptions>& Tokenizer::padding() const { return padding_; }
void Tokenizer::set_padding(std::optional<PaddingOptions> padding) { padding_ = std::move(padding); }
std::size_t Tokenizer::model_max_length() const { return impl_->model_max_length; }
std::size_t Tokenizer::num_special_tokens(bool pair) const {
    return impl_->post_processor ? impl_->post_processor->added_tokens(pair) : 0;
}

}  // namespace winnow
