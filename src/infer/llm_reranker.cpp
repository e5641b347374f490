#include "infer/finite_check.h"
#include "infer/llm_reranker.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "infer/batching.h"
#include "models/model_config.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

constexpr std::size_t kDefaultMaxLength = 8192;  // the published Qwen3-Reranker setting

std::int32_t require_token(const Tokenizer& tokenizer, const std::string& token, const std::string& folder) {
    const auto id = tokenizer.token_to_id(token);
    WINNOW_CHECK(id.has_value(), Errc::Unsupported,
                 "{}: not an LLM reranker: the tokenizer has no '{}' token (a Qwen3-Reranker scores the 'yes' and "
                 "'no' tokens)",
                 folder, token);
    return *id;
}

std::size_t common_prefix(std::span<const std::int32_t> a, std::span<const std::int32_t> b) {
    const std::size_t n = std::min(a.size(), b.size());
    std::size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

}  // namespace

bool is_llm_model_folder(const std::string& folder) {
    if (!std::filesystem::exists(std::filesystem::path(folder) / "config.json")) return false;
    const ModelConfig config = ModelConfig::load(folder);
    return config.model_type() == "qwen3" && !config.has_architecture_suffix("ForSequenceClassification");
}

LlmReranker::LlmReranker(const std::string& folder, const ModelOptions& options)
    : folder_(folder),
      options_(options),
      model_(load_causal_lm(folder,
                            LoadOptions{options.precision, options.device})),
      tokenizer_(Tokenizer::from_file(folder)) {
    WINNOW_CHECK(model_->has_lm_head(), Errc::Unsupported,
                 "{}: not an LLM reranker: the model has no LM head (lm_head.weight or tied embeddings)", folder);
    yes_id_ = require_token(tokenizer_, "yes", folder);
    no_id_ = require_token(tokenizer_, "no", folder);
    for (const auto id : {yes_id_, no_id_}) {
        WINNOW_CHECK(static_cast<std::size_t>(id) < model_->info().vocab_size, Errc::Corrupt,
                     "{}: token id {} is outside the model's vocabulary of {}", folder, id, model_->info().vocab_size);
    }
    tokenizer_.set_padding(std::nullopt);
    tokenizer_.set_truncation(std::nullopt);

    instruction_ = options.instruction.empty() ? std::string(kQwen3DefaultInstruction) : options.instruction;
    prefix_ = std::string("<|im_start|>system\n") + kQwen3RerankerSystem + "<|im_end|>\n<|im_start|>user\n";
    suffix_ = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    prefix_ids_ = tokenizer_.encode(prefix_, false).ids;
    suffix_ids_ = tokenizer_.encode(suffix_, false).ids;

    const std::size_t limit = model_->info().max_tokens;
    max_length_ = options.max_length > 0 ? std::min(options.max_length, limit) : std::min(kDefaultMaxLength, limit);
    WINNOW_CHECK(max_length_ > prefix_ids_.size() + suffix_ids_.size(), Errc::InvalidArgument,
                 "max_length {} leaves no room for the prompt template ({} tokens)", max_length_,
                 prefix_ids_.size() + suffix_ids_.size());
}

std::string LlmReranker::body(std::string_view query, std::string_view doc) const {
    std::string out = "<Instruct>: ";
    out += instruction_;
    out += "\n<Query>: ";
    out += query;
    out += "\n<Document>: ";
    out += doc;
    return out;
}

LlmReranker::Prompt LlmReranker::assemble(std::span<const std::int32_t> body_ids) const {
    const std::size_t budget = max_length_ - prefix_ids_.size() - suffix_ids_.size();
    const std::size_t kept = std::min(budget, body_ids.size());
    Prompt prompt;
    prompt.truncated = body_ids.size() > budget;
    prompt.ids.reserve(prefix_ids_.size() + kept + suffix_ids_.size());
    prompt.ids.insert(prompt.ids.end(), prefix_ids_.begin(), prefix_ids_.end());
    prompt.ids.insert(prompt.ids.end(), body_ids.begin(), body_ids.begin() + static_cast<std::ptrdiff_t>(kept));
    prompt.ids.insert(prompt.ids.end(), suffix_ids_.begin(), suffix_ids_.end());
    return prompt;
}

LlmReranker::Prompt LlmReranker::tokenize(std::string_view query, std::string_view doc) const {
    return assemble(tokenizer_.encode(body(query, doc), false).ids);
}

std::vector<PairScore> LlmReranker::score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const {
    std::vector<std::string> bodies(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) bodies[i] = body(pairs[i].first, pairs[i].second);
    const std::vector<Encoding> encodings = tokenizer_.encode_batch(bodies, false);
    std::vector<std::vector<std::int32_t>> prompts(pairs.size());
    std::vector<bool> truncated(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        Prompt prompt = assemble(encodings[i].ids);
        truncated[i] = prompt.truncated;
        prompts[i] = std::move(prompt.ids);
    }
    // The documents of one query share its prefix.
    std::map<std::string_view, std::vector<std::size_t>> by_query;
    for (std::size_t i = 0; i < pairs.size(); ++i) by_query[pairs[i].first].push_back(i);
    std::vector<std::vector<std::size_t>> groups;
    groups.reserve(by_query.size());
    for (auto& [query, indices] : by_query) groups.push_back(std::move(indices));
    auto scores = score_prompts(prompts, groups, true);
    for (std::size_t i = 0; i < scores.size(); ++i) scores[i].truncated = truncated[i];
    return scores;
}

std::vector<PairScore> LlmReranker::score_tokenized(std::span<const TokenizedPair> pairs) const {
    std::vector<std::vector<std::int32_t>> prompts(pairs.size());
    std::vector<std::size_t> all(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        prompts[i] = pairs[i].input_ids;
        all[i] = i;
    }
    const std::vector<std::vector<std::size_t>> groups{std::move(all)};
    return score_prompts(prompts, groups, true);
}

std::vector<PairScore> LlmReranker::score_prompts(std::span<const std::vector<std::int32_t>> prompts,
                                                  std::span<const std::vector<std::size_t>> groups,
                                                  bool reuse_prefix) const {
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        WINNOW_CHECK(!prompts[i].empty(), Errc::InvalidArgument, "pair {}: no input_ids", i);
        WINNOW_CHECK(prompts[i].size() <= model_->info().max_tokens, Errc::InvalidArgument,
                     "pair {}: {} tokens, more than the model's limit of {}", i, prompts[i].size(),
                     model_->info().max_tokens);
    }
    std::vector<PairScore> scores(prompts.size());
    const ScopedThreads threads(options_.n_threads);
    for (const auto& group : groups) {
        if (group.empty()) continue;
        std::size_t shared = 0;
        if (reuse_prefix && group.size() > 1) {
            // The longest common prefix, leaving every prompt at least its last token to run.
            shared = prompts[group[0]].size() - 1;
            for (std::size_t index : group) {
                shared = std::min(shared, common_prefix(prompts[group[0]], prompts[index]));
                shared = std::min(shared, prompts[index].size() - 1);
            }
        }
        score_group(prompts, group, shared, scores);
    }
    check_scores_finite(scores, name());
    return scores;
}

void LlmReranker::score_group(std::span<const std::vector<std::int32_t>> prompts, std::span<const std::size_t> group,
                              std::size_t prefix_length, std::vector<PairScore>& out) const {
    const KvCache cache = prefix_length > 0
                              ? model_->prefill(std::span<const std::int32_t>(prompts[group[0]].data(), prefix_length))
                              : KvCache();
    std::vector<std::size_t> lengths(group.size());
    for (std::size_t g = 0; g < group.size(); ++g) lengths[g] = prompts[group[g]].size() - prefix_length;
    for (const auto& batch_indices : plan_batches(lengths, std::max<std::size_t>(options_.token_budget, 1))) {
        TokenBatch batch;
        for (std::size_t g : batch_indices) {
            const auto& ids = prompts[group[g]];
            batch.add(std::span<const std::int32_t>(ids.data() + prefix_length, ids.size() - prefix_length));
        }
        const Tensor hidden = model_->forward_cached(batch, cache);
        for (std::size_t b = 0; b < batch_indices.size(); ++b) {
            const float* last = hidden.row(batch.cu_seqlens[b + 1] - 1);
            const float yes = model_->logit(last, yes_id_);
            const float no = model_->logit(last, no_id_);
            PairScore& score = out[group[batch_indices[b]]];
            score.raw_score = yes - no;
            // softmax over (no, yes), the probability of "yes"
            score.score = 1.0f / (1.0f + std::exp(no - yes));
            score.n_tokens = static_cast<std::uint32_t>(prompts[group[batch_indices[b]]].size());
        }
    }
}

}  // namespace winnow
