// winnow::Pipeline: the two-stage pipeline behind `winnow search --pipeline`, `winnow ask`, the
// server's /v1/search and /v1/ask, and `winnow eval`.
//
//   first stage (k candidates) > rerank (score all k) > cutoff (keep the best few) > context
//
// A pipeline is written as a spec string, one stage per `name(key=value, ...)`, joined by `>`:
//   bm25(k=100)
//   hybrid(k=100, fusion=rrf) > rerank(model=BAAI/bge-reranker-base, top_n=20)
//   bm25(k=200) > rerank(model=./ce, long_doc=maxp) > cutoff(min_score=0.3, score_gap=0.5, tokens=3000)
//   bm25(k=100) > rerank(model=./ce) > diversify(per_doc=2, mmr=0.7) > cutoff(top_n=8)
// Values are bare words or double-quoted strings ("a \"q\""). Every knob can be overridden per
// query with "stage.key=value" (or just "key=value" when one stage owns that key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "winnow/candidate.h"
#include "winnow/reranker.h"

namespace winnow {


// ---- The spec ---------------------------------------------------------------------------------

struct StageSpec {
    std::string name;                                         // bm25 | dense | hybrid | xapian | elasticsearch | rerank | ltr | diversify | cutoff | pack
    std::vector<std::pair<std::string, std::string>> params;  // in written order, keys unique

    std::optional<std::string> get(std::string_view key) const;
    void set(std::string_view key, std::string value);  // replaces or appends
    bool erase(std::string_view key);
    std::string to_string() const;  // canonical: name(key=value, ...)
};

struct PipelineSpec {
    std::vector<StageSpec> stages;

    // Parses and validates (stage names, keys, value types, stage order). Throws
    // Error(InvalidArgument) naming the position and the offending stage or key.
    static PipelineSpec parse(std::string_view text);
    std::string to_string() const;  // parse(to_string()) == *this

    // The first stage is an external engine's (xapian, elasticsearch): no index directory needed.
    bool external_first_stage() const;

    const StageSpec* find(std::string_view stage) const;
    StageSpec* find(std::string_view stage);
    // Applies one override "stage.key=value" or "key=value" (validated like parse). A key of a
    // stage that is absent adds that stage with defaults (e.g. "cutoff.top_n=5").
    void apply_override(std::string_view assignment);
    void apply_overrides(const std::map<std::string, std::string>& overrides);  // key -> value
};

// ---- The compiled configuration ---------------------------------------------------------------

enum class LongDocMode { Truncate, MaxP };
enum class ScoreNormalization { Sigmoid, MinMax, None };
// The rerank API a remote pool speaks: Cohere (`POST /v1/rerank`, relevance_score) or Hugging Face
// TEI (`POST /rerank` with raw_scores, the logit itself).
enum class RemoteDialect { Cohere, Tei };

struct RerankConfig {
    bool enabled = false;
    std::string kind = "rerank";  // rerank (cross-encoder) | ltr or another registered scorer
    std::string model;            // folder or hub id ("" for rerank: WINNOW_RERANK_MODEL)
    LongDocMode long_doc = LongDocMode::Truncate;
    std::size_t max_length = 0;    // 0: the model's limit
    std::size_t stride = 64;       // maxp: tokens shared by consecutive windows
    std::size_t max_windows = 8;   // maxp: windows per document at most
    std::size_t batch_tokens = 0;  // 0: the model's default token budget per forward batch
    Precision precision = Precision::Auto;  // cross-encoder compute precision (Auto: resolve_precision's rule)
    Device device = Device::Auto;           // where the cross-encoder runs (winnow/device.h)
    ScoreNormalization normalize = ScoreNormalization::Sigmoid;
    // Remote rerank tier (`rerank(url=...)`): the candidates' text goes to these base URLs (a
    // balancer in front of `winnow serve` replicas, or the replicas themselves, tried in turn)
    // instead of a local model. Empty: score locally.
    std::vector<std::string> urls;
    RemoteDialect dialect = RemoteDialect::Tei;
    std::size_t deadline_ms = 30000;  // the whole call, retries included
    std::size_t attempts = 3;         // tries at most (each on the next URL), >= 1
    std::map<std::string, std::string> params;  // scorer-specific extras
};

struct DiversityConfig {
    std::size_t per_doc = 0;  // at most this many chunks per document (0: no cap)
    double mmr = 0.0;         // MMR lambda in (0, 1]: relevance weight; 0 or 1: off
};

struct CutoffConfig {
    std::size_t top_n = 0;             // 0: no limit
    std::optional<double> min_score;   // on the normalized score
    std::optional<double> score_gap;   // cut at the largest drop if it is >= this share of the score spread
    std::size_t min_keep = 1;          // score_gap and min_score never cut below this many
    std::size_t tokens = 0;            // total tokens of the kept chunks at most (0: no budget)
};

struct PackConfig {
    std::size_t context_tokens = 0;  // the LLM's window for the packed prompt (0: 4096)
    std::string template_name = "default";
};

struct PipelineConfig {
    SearchOptions first_stage;  // typed from the first stage's keys (k defaults to 100 in a spec)
    RerankConfig rerank;
    DiversityConfig diversity;
    CutoffConfig cutoff;
    PackConfig pack;

    bool has_pack = false;  // the spec has a pack stage (run() then packs the context too)

    static PipelineConfig from_spec(const PipelineSpec& spec);  // throws InvalidArgument naming the key
};

// ---- Running it -------------------------------------------------------------------------------

// Where candidates come from (an index directory, an external engine, a test).
class CandidateSource {
public:
    virtual ~CandidateSource() = default;
    // The best `k` candidates for the query under the given first-stage options, best first, with
    // their text (the rerank and cutoff stages read it).
    virtual std::vector<Candidate> retrieve(std::string_view query, const SearchOptions& options) const = 0;
    virtual std::string describe(const SearchOptions& options) const = 0;  // e.g. "bm25(k1=0.9,b=0.4)"
    // Picks up what other processes wrote since it was opened (e.g. a running `winnow index`);
    // thread-safe alongside retrieve(). Returns true when something changed.
    virtual bool refresh() const { return false; }
    // How many chunks it searches, when it knows (explains an empty result: an empty index).
    virtual std::optional<std::size_t> size() const { return std::nullopt; }
};

// Scores candidates for the rerank stage. The cross-encoder scorer is built in; other kinds
// (learning-to-rank) register a factory under their stage name.
struct RerankScore {
    float raw = 0.0f;         // model output (logit)
    bool truncated = false;   // some of the text did not reach the model
    std::uint32_t n_windows = 1;
    std::uint32_t n_tokens = 0;
};
class CandidateScorer {
public:
    virtual ~CandidateScorer() = default;
    virtual std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                           const RerankConfig& config) const = 0;
    virtual std::string name() const = 0;
    // Whether this scorer may serve a stage when handed to Pipeline::run as a per-query scorer: by default a
    // local cross-encoder stage only (`rerank` without `url`: a server's scheduled model must never score an
    // `ltr` stage or stand in for a remote rerank tier). A scorer that wraps the one the stage's own
    // configuration picked (eval's score cache) serves any stage.
    virtual bool serves(const RerankConfig& config) const { return config.kind == "rerank" && config.urls.empty(); }
};
using ScorerFactory = std::function<std::shared_ptr<const CandidateScorer>(const RerankConfig& config)>;
void register_scorer(const std::string& stage_name, ScorerFactory factory);
bool has_scorer(const std::string& stage_name);

// Why a candidate was kept or cut.
enum class Decision { Kept, CutTopN, CutMinScore, CutScoreGap, CutTokens, CutPerDoc, CutMmr, NotReranked };
std::string_view decision_name(Decision decision) noexcept;

// A candidate with what the pipeline decided about it. The candidate itself passes through
// unchanged (moved, never rebuilt): this adds the rerank score and the decision beside it.
struct PipelineHit {
    Candidate candidate;
    std::size_t first_stage_rank = 0;  // 1-based
    float first_stage_score = 0.0f;
    std::optional<float> rerank_raw;   // model output
    std::optional<float> rerank_score; // normalized (what min_score compares against)
    bool truncated = false;
    std::uint32_t n_windows = 0;
    std::size_t n_tokens = 0;          // chunk tokens (what the token budget counts)
    std::size_t final_rank = 0;        // 1-based among kept hits; 0 when cut
    Decision decision = Decision::Kept;
    std::string reason;                // one line, e.g. "kept: rank 2 by rerank score 0.91"
};

// Why a query has no results (None when it has some): the source holds nothing, none of the
// query's terms is indexed (a BM25 first stage found no candidate), the first stage found none for
// another reason, or the stages after it cut every candidate.
enum class EmptyReason { None, EmptyIndex, NoIndexedTerms, NoCandidates, AllCut };
std::string_view empty_reason_name(EmptyReason reason) noexcept;  // "empty_index", "no_indexed_terms", ...
// Why a first stage found no candidate, and what to try next (the reason and hint a pipeline result
// carries, also printed by a plain `winnow search`): `chunk_count` of the index searched (nullopt:
// unknown, as with an external engine), `lexical` when the stage is winnow's own BM25, `stage` its name.
std::pair<EmptyReason, std::string> explain_no_candidates(std::optional<std::size_t> chunk_count, bool lexical,
                                                          std::string_view stage);

struct StageTiming {
    std::string stage;
    double ms = 0.0;
};

// ---- Context for the LLM (the pack stage) -----------------------------------------------------

struct ContextSource {
    std::size_t n = 0;  // the [n] citation number
    std::string doc_id;
    std::string title;
    std::string source;
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
};

struct PackedContext {
    std::string system;   // the system message (instructions)
    std::string user;     // the user message: numbered sources, then the question
    std::string context;  // just the numbered sources
    std::vector<ContextSource> sources;
    std::size_t n_tokens = 0;   // of system + user
    std::size_t n_dropped = 0;  // kept hits that did not fit the window
    std::size_t n_shortened = 0;  // hits cut short to fit
};

// The LLM's answer (the answer stage).
struct Answer {
    std::string text;
    std::string finish_reason;  // "stop", "length", "cancelled", ...
    std::string model;          // as the LLM server reported it
};

struct PipelineResult {
    std::string query;
    std::string spec;                // the effective spec after overrides
    std::string first_stage;         // what ran as the first stage, e.g. "bm25(k1=0.9,b=0.4)"
    std::vector<PipelineHit> hits;   // kept, in final order
    std::vector<PipelineHit> cut;    // cut candidates, in reranked order (for --explain)
    std::size_t n_candidates = 0;
    std::size_t n_reranked = 0;
    std::size_t n_truncated = 0;     // candidates whose text did not fully reach the reranker
    std::string scorer;              // reranker name, "" when the pipeline has no rerank stage
    EmptyReason empty = EmptyReason::None;  // why `hits` is empty
    std::string empty_hint;          // one sentence for a person, "" when there are hits
    std::vector<StageTiming> timings;
    std::optional<PackedContext> context;  // set by the pack stage (ask, or a spec with pack)
    std::optional<Answer> answer;          // set by the answer stage (ask with an LLM)
};

// Counts tokens (the reranker's tokenizer when there is one, else an approximation).
using TokenCountFn = std::function<std::size_t(std::string_view)>;

// The answer stage's settings: where the LLM is (an OpenAI-compatible chat-completions API).
struct AskOptions {
    std::string llm_url;    // "" : $WINNOW_LLM_URL; neither: no answer stage (the packed context only)
    std::string llm_model;  // "" : $WINNOW_LLM_MODEL
    double timeout_s = 120.0;
    std::optional<double> temperature;  // unset: the LLM server's default
    std::optional<int> max_tokens;      // unset: the LLM server's default
    bool answer = true;     // false: stop after packing (answer() later, e.g. once sources are sent)
    // Streams the answer: called with each piece as it arrives; return false to stop early.
    std::function<bool(std::string_view delta)> on_delta;
};

class Pipeline {
public:
    Pipeline(PipelineSpec spec, std::shared_ptr<const CandidateSource> source);
    // Opens an index directory made by `winnow index` as the candidate source. Rerank stages
    // other than the cross-encoder get the directory as their `index` parameter unless set.
    static Pipeline open_index(const std::string& index_dir, PipelineSpec spec);
    // The pipeline a spec describes: an external first stage (xapian, elasticsearch) takes its
    // candidates and their text from the engine, and `index_dir` (may be "") serves only stages that
    // read corpus statistics (ltr); any other first stage runs over `index_dir` (open_index), which
    // is then required (Error(InvalidArgument) when "").
    static Pipeline open(const std::string& index_dir, PipelineSpec spec);

    // Runs one query: first stage > rerank > diversify > cutoff, and pack when the spec has a pack
    // stage. `overrides` are applied to a copy of the spec for this query only. A non-null
    // `scorer` serves this query's cross-encoder (`rerank`) stage instead of the pipeline's own (a
    // server binds one to each request's deadline and connection); other scorer kinds always
    // come from their registered factory.
    PipelineResult run(std::string_view query, const std::map<std::string, std::string>& overrides = {},
                       std::shared_ptr<const CandidateScorer> scorer = nullptr) const;
    // run(), then the pack stage (always) and the answer stage (when an LLM is configured and
    // options.answer): what `winnow ask` and the server's /v1/ask call.
    PipelineResult ask(std::string_view question, const AskOptions& options,
                       const std::map<std::string, std::string>& overrides = {},
                       std::shared_ptr<const CandidateScorer> scorer = nullptr) const;
    // The answer stage alone, over a result whose context is packed. Does nothing without an LLM.
    static void answer(PipelineResult& result, const AskOptions& options);
    // Whether options (or the environment) name an LLM for the answer stage.
    static bool has_llm(const AskOptions& options);

    const PipelineSpec& spec() const noexcept { return spec_; }
    // The effective configuration of one query: the spec with `overrides` applied, compiled.
    PipelineConfig config(const std::map<std::string, std::string>& overrides = {}) const;
    // Refreshes the candidate source (CandidateSource::refresh); safe while other threads run queries.
    bool refresh() const { return source_->refresh(); }
    // How many chunks the candidate source searches, when it knows (CandidateSource::size).
    std::optional<std::size_t> source_size() const { return source_->size(); }
    // The token counter the cutoff and packing use for the given spec (reranker tokenizer or approximate).
    TokenCountFn token_counter(const PipelineConfig& config) const;
    // Uses this scorer for `rerank` (cross-encoder) stages instead of loading a model (tests,
    // servers sharing a model). Other scorer kinds (ltr) still come from their factory.
    void set_scorer(std::shared_ptr<const CandidateScorer> scorer) { scorer_override_ = std::move(scorer); }
    // The scorer a stage of `config` uses when run() gets no per-query scorer (loaded once and cached), e.g. to
    // wrap it in a per-query scorer for run() (`winnow eval` reuses scores across k that way).
    std::shared_ptr<const CandidateScorer> scorer_for(const RerankConfig& config) const {
        return scorer_for(config, nullptr);
    }

private:
    // The one place a stage kind picks its scorer: `rerank` takes the per-query scorer, else the
    // one set with set_scorer, else a cross-encoder loaded (and cached) from the stage's model;
    // any other kind comes from its registered factory (cached by its settings).
    std::shared_ptr<const CandidateScorer> scorer_for(const RerankConfig& config,
                                                      std::shared_ptr<const CandidateScorer> per_query) const;
    PipelineResult run_config(std::string_view query, PipelineSpec spec, PipelineConfig config,
                              std::shared_ptr<const CandidateScorer> scorer, bool pack) const;

    PipelineSpec spec_;
    std::shared_ptr<const CandidateSource> source_;
    std::shared_ptr<const CandidateScorer> scorer_override_;
    std::string index_dir_;  // set by open_index: handed to scorers that read index statistics (ltr)
    struct Cache;
    std::shared_ptr<Cache> cache_;  // loaded scorers by model, shared by copies
};

// Scores one query against texts (candidates, or maxp windows of them): one PairScore per text, in
// order (raw_score, truncated, n_tokens are used). `max_length` is the stage's max_length (0: the
// model's limit): a pair longer than that is truncated (longest first) before scoring.
using PairScoreFn = std::function<std::vector<PairScore>(std::string_view query, const std::vector<std::string>& texts,
                                                         std::size_t max_length)>;

// The cross-encoder scorer over a loaded winnow::Reranker (long_doc = truncate or maxp windows
// max-pooled). The pairs go to `score_pairs` when given (a server queues them on its cross-request
// batch scheduler), else to the reranker, batched by the model's token budget; the reranker's
// tokenizer cuts maxp windows either way. A stage max_length below the model's is applied to each
// pair (pre-tokenized pairs; an LLM reranker refuses it with Error(Unsupported)).
std::shared_ptr<const CandidateScorer> make_cross_encoder_scorer(std::shared_ptr<const Reranker> reranker,
                                                                 PairScoreFn score_pairs = {});

// The remote rerank tier's scorer (`rerank(url=...)`): POSTs each query's candidate texts to the
// pool in config.dialect and reads back one raw score per text. An attempt that fails with a
// refused or broken connection, HTTP 5xx or 429 is retried on the next URL (429 after its
// Retry-After, when that fits the deadline) until config.attempts are spent or config.deadline_ms
// has passed: then Error(Timeout) past the deadline, Error(Overloaded) when every attempt was
// refused, Error(Io) otherwise, the message naming the URL and what it answered. A 4xx other than
// 429 is not retried (Error(InvalidArgument), the server's message). Cohere's relevance_score is
// the sigmoid of the logit and is mapped back to it (equal within float rounding); TEI's
// raw_scores are the logit itself. long_doc=maxp and max_length are refused (Error(Unsupported)):
// the replicas truncate at their model's limit.
std::shared_ptr<const CandidateScorer> make_remote_scorer(const RerankConfig& config);

// One replica's answer to `GET <url>/health`.
struct ReplicaHealth {
    std::string url;
    bool up = false;      // answered 200
    long http_status = 0; // 0: no answer (the detail says why)
    std::string detail;   // the body's "status" field, or the transport error
};
// The pool's health: each URL's /health, probed in parallel within timeout_ms.
std::vector<ReplicaHealth> remote_pool_health(const std::vector<std::string>& urls, std::size_t timeout_ms = 2000);

// Packs kept hits, best first, as "[n] title (source, bytes b-e)\ntext" blocks into the prompt
// template within `context_tokens` (question and instructions included). A hit that does not fit
// whole is shortened once at a word boundary if at least 32 tokens fit, else dropped.
PackedContext pack_context(std::string_view question, const std::vector<PipelineHit>& hits,
                           const PackConfig& config, const TokenCountFn& count_tokens);

}  // namespace winnow
