// winnow::Tokenizer: a Hugging Face tokenizer.json pipeline (normalizer -> pre-tokenizer -> model ->
// post-processor, truncation, padding, decoder) with exact HF parity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace winnow {

// One encoded input. Offsets are [start, end) in Unicode code points of the original text
// (what HF's Python binding returns); special tokens get (0, 0).
struct Encoding {
    std::vector<std::int32_t> ids;
    std::vector<std::int32_t> type_ids;
    std::vector<std::string> tokens;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets;
    std::vector<std::uint8_t> special_tokens_mask;
    std::vector<std::uint8_t> attention_mask;
    std::vector<Encoding> overflowing;  // windows cut off by truncation (with stride)
    bool truncated = false;             // true when truncation removed tokens

    std::size_t size() const noexcept { return ids.size(); }
};

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };
enum class TruncationDirection { Right, Left };

struct TruncationOptions {
    std::size_t max_length = 0;  // 0: no truncation
    TruncationStrategy strategy = TruncationStrategy::LongestFirst;
    std::size_t stride = 0;
    TruncationDirection direction = TruncationDirection::Right;
};

enum class PaddingDirection { Right, Left };

struct PaddingOptions {
    std::optional<std::size_t> fixed_length;  // nullopt: pad to the longest in the batch
    std::size_t pad_to_multiple_of = 0;
    std::int32_t pad_id = 0;
    std::int32_t pad_type_id = 0;
    std::string pad_token = "[PAD]";
    PaddingDirection direction = PaddingDirection::Right;
};

// What one text may cost (hardening: tokenizer.json files and texts are untrusted). Over a limit,
// encoding throws Error(TooLarge) naming it; regex matching never stops silently part-way.
struct TokenizerLimits {
    std::size_t max_input_bytes = 16u << 20;  // bytes of one text (its tokens are bounded by its bytes)
    // Oniguruma backtracking steps of one match attempt / of one search over the text (0: no limit).
    std::uint64_t regex_retry_limit_in_match = 10'000'000;
    std::uint64_t regex_retry_limit_in_search = 50'000'000;
    double regex_time_limit_seconds = 10.0;  // all regex matching of one text (0: no limit)
    // Normalizers may grow a text (NFKC: U+FDFA is 3 bytes in, 33 out; Replace: any content) up to
    // this many times its bytes, plus 4 KiB; beyond: Error(TooLarge) naming this field.
    std::size_t max_normalized_growth = 4;
    // Per-thread scratch buffers (normalization, pre-tokenization, models) larger than this are
    // freed after each text instead of being kept for the next one.
    std::size_t scratch_keep_bytes = 1u << 20;
};
// Process-wide; applies to every Tokenizer from the next encode on.
void set_tokenizer_limits(const TokenizerLimits& limits);
TokenizerLimits tokenizer_limits();

class Tokenizer {
public:
    // `path` is a tokenizer.json file or a model folder holding one (tokenizer_config.json and
    // config.json there supply model_max_length). Throws winnow::Error naming the file and the
    // unsupported type or bad field.
    static Tokenizer from_file(const std::string& path);
    static Tokenizer from_json(std::string_view json, std::string_view where = "tokenizer.json");

    // Encode with the truncation and padding configured in tokenizer.json (as HF's
    // Tokenizer.encode does), or as changed by set_truncation / set_padding.
    Encoding encode(std::string_view text, bool add_special_tokens = true) const;
    Encoding encode_pair(std::string_view a, std::string_view b, bool add_special_tokens = true) const;
    // Pair with explicit truncation (overrides the configured truncation; padding still applies).
    // max_length 0 here means the model's limit (model_max_length()), or none when that is unknown.
    Encoding encode_pair(std::string_view a, std::string_view b, const TruncationOptions& truncation,
                         bool add_special_tokens = true) const;
    // Parallel over the global thread pool; batch padding applied as configured.
    std::vector<Encoding> encode_batch(std::span<const std::string> texts, bool add_special_tokens = true) const;
    std::vector<Encoding> encode_pair_batch(std::span<const std::pair<std::string, std::string>> pairs,
                                            const std::optional<TruncationOptions>& truncation,
                                            bool add_special_tokens = true) const;

    // HF decode: special added tokens skipped when asked, then the decoder (or a space join).
    std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = true) const;

    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    std::optional<std::string> id_to_token(std::int32_t id) const;
    std::size_t vocab_size() const;

    const std::optional<TruncationOptions>& truncation() const;
    void set_truncation(std::optional<TruncationOptions> truncation);
    const std::optional<PaddingOptions>& padding() const;
    void set_padding(std::optional<PaddingOptions> padding);
    // The model's limit (tokenizer_config.json model_max_length, or config.json
    // max_position_embeddings minus the model's offset); 0 when unknown.
    std::size_t model_max_length() const;
    // Number of special tokens the post-processor adds to a single input / a pair.
    std::size_t num_special_tokens(bool pair) const;

    struct Impl;

private:
    explicit Tokenizer(std::shared_ptr<Impl> impl);
    Encoding finish(Encoding a, std::optional<Encoding> b, const std::optional<TruncationOptions>& truncation,
                    bool add_special_tokens) const;
    std::shared_ptr<const Impl> impl_;  // the pipeline is immutable after load; copies share it
    std::optional<TruncationOptions> truncation_;  // per-copy settings (start as configured in the file)
    std::optional<PaddingOptions> padding_;
};

}  // namespace winnow
