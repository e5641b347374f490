#include "eval/harness.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_set>

#include "core/json.h"
#include "core/log.h"
#include "eval/score_cache.h"
#include "eval/text_util.h"
#include "ingest/corpus_reader.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow::eval {
namespace fs = std::filesystem;

namespace {

constexpr int kCacheVersion = 1;

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

Json corpus_signature(const Dataset& ds) {
    Json files = Json::array();
    for (const auto& p : ds.corpus_paths) {
        std::error_code ec;
        const auto size = fs::file_size(p, ec);
        const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
        files.push_back({{"path", fs::absolute(p).lexically_normal().string()},
                         {"size", static_cast<std::uint64_t>(size)},
                         {"mtime", static_cast<std::int64_t>(mtime)}});
    }
    return {{"version", kCacheVersion},
            {"dataset", fs::absolute(ds.dir).lexically_normal().string()},
            {"format", std::string(corpus_format_name(ds.corpus_format))},
            {"chunker", "document"},
            {"analyzer", "english"},
            {"files", files}};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Keeps the first (best) chunk of each document.
void add_unique(std::vector<RankedDoc>& out, std::unordered_set<std::string>& seen, const std::string& doc_id,
                double score, const std::string& title = {}, const std::string& text = {}) {
    if (seen.insert(doc_id).second) out.push_back({doc_id, score, title, text});
}

// The first stage alone, straight from the index (no pipeline needed).
class IndexRanker final : public Ranker {
public:
    IndexRanker(std::shared_ptr<Index> index, SearchOptions options, std::string spec)
        : index_(std::move(index)), options_(std::move(options)), spec_(std::move(spec)) {}
    std::string spec() const override { return spec_; }
    bool reranks() const override { return false; }
    RankerOutput rank(const Query& query, std::size_t k) override {
        SearchOptions o = options_;
        o.k = k;
        const auto t0 = std::chrono::steady_clock::now();
        const auto hits = index_->search(query.text, o);
        RankerOutput out;
        out.first_stage_ms = ms_since(t0);
        std::unordered_set<std::string> seen;
        for (const auto& h : hits) add_unique(out.first_stage, seen, h.doc_id, h.score, h.title, h.text);
        out.final = out.first_stage;
        return out;
    }

private:
    std::shared_ptr<Index> index_;
    SearchOptions options_;
    std::string spec_;
};

// The whole pipeline: first stage (k swept) > rerank > cutoff. `index` is null when the first stage
// is an external engine's and no --index was given.
class PipelineRanker final : public Ranker {
public:
    PipelineRanker(std::shared_ptr<Index> index, PipelineSpec spec, std::shared_ptr<RerankScoreCache> scores)
        : index_(std::move(index)),
          pipeline_(Pipeline::open(index_ ? index_->dir() : std::string(), spec)),
          spec_(std::move(spec)),
          scores_(std::move(scores)) {
        first_name_ = spec_.stages.front().name;
        reranks_ = PipelineConfig::from_spec(spec_).rerank.enabled;
    }
    std::string spec() const override { return spec_.to_string(); }
    bool reranks() const override { return reranks_; }
    bool changes_list() const override { return spec_.stages.size() > 1; }  // a stage after the first (rerank, diversify, cutoff)
    RankerOutput rank(const Query& query, std::size_t k) override {
        const std::map<std::string, std::string> overrides{{first_name_ + ".k", std::to_string(k)}};
        // With a score cache, the rerank stage scores only what no earlier k (or compared pipeline) scored.
        std::shared_ptr<const CandidateScorer> scorer;
        auto scoring = std::make_shared<RerankScoreCache::CachedScoring>();
        if (reranks_ && scores_) {
            PipelineSpec spec = spec_;
            spec.apply_overrides(overrides);
            RerankConfig config = PipelineConfig::from_spec(spec).rerank;
            if (config.kind != "rerank" && index_) config.params.emplace("index", index_->dir());  // as Pipeline::run does
            scorer = scores_->wrap(pipeline_.scorer_for(config), scoring);
        }
        const auto t0 = std::chrono::steady_clock::now();
        const PipelineResult r = pipeline_.run(query.text, overrides, scorer);
        const double wall = ms_since(t0);
        RankerOutput out;
        std::vector<const PipelineHit*> all;
        for (const auto& h : r.hits) all.push_back(&h);
        for (const auto& h : r.cut) all.push_back(&h);
        std::stable_sort(all.begin(), all.end(),
                         [](const PipelineHit* a, const PipelineHit* b) { return a->first_stage_rank < b->first_stage_rank; });
        std::unordered_set<std::string> seen;
        for (const auto* h : all) add_unique(out.first_stage, seen, h->candidate.doc_id, h->first_stage_score);
        seen.clear();
        for (const auto& h : r.hits) {
            add_unique(out.final, seen, h.candidate.doc_id, h.rerank_score ? *h.rerank_score : h.first_stage_score,
                       h.candidate.title, h.candidate.text);
        }
        out.pairs_scored = r.n_reranked;
        out.pairs_computed = scorer ? scoring->pairs_computed : r.n_reranked;
        double staged = 0.0;
        for (const auto& t : r.timings) {
            staged += t.ms;
            if (t.stage == "first_stage" || t.stage == first_name_) {
                out.first_stage_ms += t.ms;
            } else if (t.stage == "rerank" || t.stage == "ltr" || t.stage == r.scorer) {
                // Reused scores count with the time they took when computed: the latency of this k alone.
                out.rerank_ms += scorer ? scoring->attributed_ms : t.ms;
            } else {
                out.cutoff_ms += t.ms;
            }
        }
        // Whatever the stages did not time (candidate text fetch, bookkeeping) counts as cutoff.
        if (wall > staged) out.cutoff_ms += wall - staged;
        return out;
    }

private:
    std::shared_ptr<Index> index_;
    Pipeline pipeline_;
    PipelineSpec spec_;
    std::shared_ptr<RerankScoreCache> scores_;
    std::string first_name_;
    bool reranks_ = false;
};

}  // namespace

std::string default_eval_cache_dir() {
    if (const char* c = std::getenv("WINNOW_CACHE"); c != nullptr && *c != '\0') return std::string(c) + "/eval";
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') return std::string(x) + "/winnow/eval";
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return std::string(h) + "/.cache/winnow/eval";
    return (fs::temp_directory_path() / "winnow-eval").string();
}

std::size_t for_each_dataset_document(const Dataset& ds,
                                      const std::function<void(std::string, std::string, std::string)>& sink) {
    std::size_t n = 0;
    if (ds.corpus_format == CorpusFormat::WikiQa) {
        // Every candidate sentence is a document: id SentenceID, title the Wikipedia page.
        std::unordered_set<std::string> seen;
        for (const auto& path : ds.corpus_paths) {
            const std::string text = read_text_file(path);
            std::size_t line_no = 0;
            for_each_line(text, [&](std::string_view line) {
                if (++line_no == 1 || line.empty()) return;
                auto f = split_char(line, '\t');
                if (f.size() != 7 || !seen.insert(std::string(f[4])).second) return;
                sink(std::string(f[4]), std::string(f[3]), std::string(f[5]));
                ++n;
            });
        }
        return n;
    }
    ingest::CorpusFormat format = ingest::CorpusFormat::Auto;
    switch (ds.corpus_format) {
        case CorpusFormat::Beir: format = ingest::CorpusFormat::Beir; break;
        case CorpusFormat::Trec: format = ingest::CorpusFormat::Trec; break;
        case CorpusFormat::Smart:
        case CorpusFormat::Lisa: format = ingest::CorpusFormat::Smart; break;
        case CorpusFormat::WikiQa: break;
    }
    for (const auto& path : ds.corpus_paths) {
        auto stats = ingest::read_corpus(path, format, [&](ingest::CorpusDocument&& d) {
            sink(normalize_numeric_id(d.id), std::move(d.title), std::move(d.text));
            ++n;
        });
        if (stats.skipped > 0) log::warn("{}: {} records skipped", path, stats.skipped);
    }
    return n;
}

std::unique_ptr<Index> open_dataset_index(const Dataset& ds, const std::string& cache_dir, bool rebuild, bool* built) {
    const std::string key = fmt::format("{}-{:016x}", ds.name, fnv1a(fs::absolute(ds.dir).lexically_normal().string()));
    const fs::path dir = fs::path(cache_dir) / key;
    const fs::path marker = dir / "eval-source.json";
    const Json signature = corpus_signature(ds);
    if (built != nullptr) *built = false;
    if (!rebuild && fs::exists(marker)) {
        try {
            if (load_json_file(marker.string()) == signature) return Index::open(dir.string());
        } catch (const std::exception& e) {  // a damaged cache is rebuilt, whatever the damage
            log::warn("{}: cached index unusable ({}); rebuilding", dir.string(), e.what());
        }
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    WINNOW_CHECK(!ec, Errc::Io, "{}: cannot create the index cache folder: {}", dir.string(), ec.message());
    log::info("indexing {} into {}", ds.dir, dir.string());
    auto index = Index::create(dir.string(), IndexConfig{});
    {
        auto writer = index->writer();
        for_each_dataset_document(ds, [&](std::string id, std::string title, std::string text) {
            IndexDocument doc;
            doc.id = std::move(id);
            doc.title = std::move(title);
            doc.text = std::move(text);
            writer->upsert(doc);
        });
        writer->finish();
    }
    std::ofstream out(marker);
    out << signature.dump(2) << '\n';
    out.close();
    WINNOW_CHECK(out.good(), Errc::Io, "{}: cannot write", marker.string());
    if (built != nullptr) *built = true;
    return index;
}

std::unique_ptr<Ranker> make_ranker(const std::string& spec_text, std::shared_ptr<Index> index, bool with_text,
                                    std::shared_ptr<RerankScoreCache> scores) {
    PipelineSpec spec = PipelineSpec::parse(spec_text);
    WINNOW_CHECK(!spec.stages.empty(), Errc::InvalidArgument, "--pipeline '{}': no stage", spec_text);
    const PipelineConfig config = PipelineConfig::from_spec(spec);
    if (spec.stages.size() > 1 || spec.external_first_stage()) {
        return std::make_unique<PipelineRanker>(std::move(index), std::move(spec), std::move(scores));
    }

    SearchOptions options = config.first_stage;  // typed once by the spec's compilation
    options.with_text = with_text;
    if (options.first_stage != FirstStageKind::Bm25) {
        WINNOW_CHECK(index->has_dense(), Errc::InvalidArgument,
                     "--pipeline {}: the index has no dense side (build it with `winnow index --embed-model`)",
                     first_stage_kind_name(options.first_stage));
        index->set_embedder(Embedder::load(index->config().embed_model));
    }
    const std::string name = options.first_stage == FirstStageKind::Bm25 ? index->first_stage_name(options)
                                                                          : spec.stages.front().to_string();
    return std::make_unique<IndexRanker>(std::move(index), std::move(options), name);
}

}  // namespace winnow::eval

namespace winnow::eval {

EvalOutcome run_eval(const EvalRequest& req) {
    WINNOW_CHECK(!req.dataset.empty() ||
                     (!req.queries.empty() && (!req.index.empty() || PipelineSpec::parse(req.pipeline).external_first_stage())),
                 Errc::InvalidArgument, "give --dataset, or --queries with --index (or an external first stage)");
    EvalOutcome outcome;
    Report& report = outcome.report;
    std::optional<Dataset> dataset;
    std::vector<Query> queries;
    Qrels qrels;
    std::string split = req.split;
    if (!req.dataset.empty()) {
        dataset = load_dataset(req.dataset);
        if (split.empty()) split = dataset->default_split();
        report.notes = dataset->notes;
    }
    if (!req.queries.empty()) {
        queries = load_queries(req.queries);
    } else {
        queries = dataset->queries;
    }
    if (!req.qrels.empty()) {
        qrels = read_trec_qrels(req.qrels);
        report.notes.push_back(fmt::format("judgments from {} ({} queries, {} judgments)", req.qrels,
                                           qrels.n_queries(), qrels.n_judgments()));
        if (split.empty()) split = "labels";
    } else {
        WINNOW_CHECK(dataset.has_value(), Errc::InvalidArgument, "--queries without --dataset needs --qrels");
        qrels = dataset->qrels(split);
    }
    std::vector<Query> judged;
    for (auto& q : queries) {
        if (qrels.find(q.id) != nullptr) judged.push_back(std::move(q));
    }
    WINNOW_CHECK(!judged.empty(), Errc::InvalidArgument, "no query has judgments (split '{}')", split);
    if (req.max_queries > 0 && judged.size() > req.max_queries) {
        judged.resize(req.max_queries);
        report.notes.push_back(fmt::format("limited to the first {} judged queries", req.max_queries));
    }

    // A pipeline over an external engine (xapian, elasticsearch) needs no index; --index still serves
    // stages that read corpus statistics (ltr).
    auto external = [](const std::string& spec) { return PipelineSpec::parse(spec).external_first_stage(); };
    const bool needs_index = !external(req.pipeline) || (!req.compare.empty() && !external(req.compare));
    std::shared_ptr<Index> index;
    if (!req.index.empty()) {
        index = Index::open(req.index);
    } else if (needs_index) {
        bool built = false;
        const std::string cache = req.cache_dir.empty() ? default_eval_cache_dir() : req.cache_dir;
        const auto t0 = std::chrono::steady_clock::now();
        index = open_dataset_index(*dataset, cache, req.rebuild_index, &built);
        report.notes.push_back(fmt::format("index {} ({} documents){}", index->dir(), index->document_count(),
                                           built ? fmt::format(", built in {:.1f} s", ms_since(t0) / 1000.0) : ""));
    }
    const std::string name = dataset ? dataset->name : std::filesystem::path(req.queries).filename().string();
    if (dataset && ((name.find("scifact") != std::string::npos && split == "test") ||
                    name.find("dbpedia") != std::string::npos)) {
        report.notes.push_back("HOLDOUT set: report results on it, never tune parameters on it");
    }

    // One score cache for the whole run: every k and the --compare pipeline share it.
    auto scores = std::make_shared<RerankScoreCache>();
    auto run = [&](const std::string& spec, const char* label) {
        auto ranker = make_ranker(spec, index, false, scores);
        SweepOptions options;
        options.ks = req.ks;
        options.eval = req.eval;
        // Queries x k (the largest k first: those carry the reranking, so the ETA starts pessimistic).
        auto progress = std::make_shared<Progress>(fmt::format("{}: queries x k", label), judged.size() * req.ks.size(),
                                                   req.progress);
        options.progress = [progress](std::size_t, std::size_t, std::size_t) { progress->add(); };
        SweepResult s = run_sweep(*ranker, judged, qrels, options);
        progress->finish();
        s.dataset = name;
        s.split = split;
        return s;
    };
    report.sweep = run(req.pipeline, "eval");
    if (report.sweep.final_stage == Stage::First) {
        report.notes.push_back("first stage only: the pipeline has no rerank stage, so the final ranking is the "
                               "first stage's; add '> rerank(model=...)' to measure a reranker");
    } else if (report.sweep.final_stage == Stage::Final) {
        report.notes.push_back("no rerank stage: the final rows are the first stage's ranking after the pipeline's "
                               "cutoff/diversify stages; add '> rerank(model=...)' to measure a reranker");
    }
    if (report.sweep.final_stage != Stage::First) {
        report.comparisons = compare_stages(report.sweep, Stage::First, report.sweep.final_stage, req.permutation);
    }
    if (!req.compare.empty()) {
        outcome.baseline = std::make_unique<SweepResult>(run(req.compare, "eval --compare"));
        const Stage a = outcome.baseline->final_stage;
        const Stage b = report.sweep.final_stage;
        auto more = compare_sweeps(*outcome.baseline, report.sweep, a, b, req.permutation);
        report.comparisons.insert(report.comparisons.end(), more.begin(), more.end());
        report.baseline = outcome.baseline.get();
    }
    std::size_t pairs_needed = 0;
    for (const SweepResult* sweep : {&report.sweep, outcome.baseline.get()}) {
        if (sweep == nullptr) continue;
        for (const auto& row : sweep->rows) pairs_needed += row.pairs_scored;
    }
    if (pairs_needed > 0) {
        report.notes.push_back(fmt::format(
            "reranker: {} pair scores over all k{}, {} computed by the model (each query's largest k once; the "
            "smaller k and identical rerank stages reuse them; their latency counts the time the reused pairs took)",
            pairs_needed, outcome.baseline ? " and both pipelines" : "", scores->pairs_computed()));
    }
    return outcome;
}

}  // namespace winnow::eval
