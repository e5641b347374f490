// winnow._winnow.Index, .Pipeline and the trec_eval measures, bound through the public headers
// (winnow/index.h, winnow/pipeline.h, winnow/eval.h; the BM25 and fusion spec parsers of the
// lexical and retrieval modules for the string options), with `ask` through Pipeline::ask, the same
// library call as the CLI and the server. Kept thin on purpose: conversions and GIL handling only; the Python layer in
// winnow/__init__.py shapes the API.
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <cstdlib>

#include "bindings.h"
#include "index/fusion.h"
#include "lexical/bm25.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/eval.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow::python {
namespace {

// An open index and the embedder its dense side needs (Index keeps no getter for it).
struct PyIndex {
    std::unique_ptr<Index> index;
    std::shared_ptr<const Embedder> embedder;

    Index& get() const {
        WINNOW_CHECK(index != nullptr, Errc::InvalidArgument, "the index was closed");
        return *index;
    }
};

// (id, title, text, metadata_json, source_path), as the Python layer hands documents over.
using DocumentTuple = std::tuple<std::string, std::string, std::string, std::string, std::string>;

py::dict summary_dict(const IngestSummary& s) {
    py::dict d;
    d["added"] = s.added;
    d["replaced"] = s.replaced;
    d["unchanged"] = s.unchanged;
    d["removed"] = s.removed;
    d["chunks"] = s.chunks;
    return d;
}

SearchOptions search_options(const std::string& first_stage, std::size_t k, const std::string& bm25,
                             const std::string& fusion, double rrf_k, double lexical_weight, std::size_t k_lexical,
                             std::size_t k_dense, std::size_t ef_search, bool with_text) {
    SearchOptions o;
    o.first_stage = parse_first_stage_kind(first_stage);
    o.k = k;
    if (!bm25.empty()) o.bm25 = lexical::parse_bm25_spec(bm25);
    o.hybrid.fusion = index::parse_fusion_method(fusion);
    o.hybrid.rrf_k = rrf_k;
    o.hybrid.weight = lexical_weight;
    o.hybrid.k_lexical = k_lexical;
    o.hybrid.k_dense = k_dense;
    o.ef_search = ef_search;
    o.with_text = with_text;
    return o;
}

// A first-stage hit as Python sees it: the candidate and its 1-based rank.
struct SearchHit {
    std::size_t rank = 0;
    Candidate candidate;
};

py::dict source_dict(const ContextSource& s) {
    py::dict d;
    d["n"] = s.n;
    d["doc_id"] = s.doc_id;
    d["title"] = s.title;
    d["source"] = s.source;
    d["span"] = py::make_tuple(s.begin, s.end);
    return d;
}

void bind_index(py::module_& m) {
    py::class_<SearchHit>(m, "SearchHit", "A first-stage hit: one chunk of a document.")
        .def_readonly("rank", &SearchHit::rank)
        .def_property_readonly("doc_id", [](const SearchHit& h) { return h.candidate.doc_id; })
        .def_property_readonly("chunk_id", [](const SearchHit& h) { return h.candidate.chunk_id; })
        .def_property_readonly("score", [](const SearchHit& h) { return h.candidate.score; })
        .def_property_readonly("title", [](const SearchHit& h) { return h.candidate.title; })
        .def_property_readonly("text", [](const SearchHit& h) { return h.candidate.text; })
        .def_property_readonly("begin", [](const SearchHit& h) { return h.candidate.begin; })
        .def_property_readonly("end", [](const SearchHit& h) { return h.candidate.end; })
        .def_property_readonly("source", [](const SearchHit& h) { return h.candidate.source; })
        .def_property_readonly("source_path", [](const SearchHit& h) { return h.candidate.source; })
        .def("__repr__", [](const SearchHit& h) {
            return "<SearchHit rank=" + std::to_string(h.rank) + " doc_id=" + h.candidate.doc_id +
                   " score=" + std::to_string(h.candidate.score) + ">";
        });

    py::class_<PyIndex>(m, "Index", "An index directory (winnow::Index).")
        .def_static(
            "open",
            [](const std::string& dir, std::shared_ptr<const Embedder> embedder) {
                PyIndex out;
                out.embedder = embedder;
                py::gil_scoped_release release;
                out.index = Index::open(dir, std::move(embedder));
                return out;
            },
            py::arg("dir"), py::arg("embedder") = nullptr)
        .def_static(
            "create",
            [](const std::string& dir, const std::string& analyzer, const std::string& bm25, const std::string& dense,
               std::shared_ptr<const Embedder> embedder) {
                IndexConfig config;
                config.analyzer = analyzer;
                config.bm25 = bm25;
                config.dense = dense;
                WINNOW_CHECK(dense.empty() || embedder != nullptr, Errc::InvalidArgument,
                             "a dense index ('{}') needs an embedder", dense);
                if (embedder) {
                    config.embed_model = embedder->name();
                    config.dense_dimension = embedder->dimension();
                }
                PyIndex out;
                out.embedder = embedder;
                py::gil_scoped_release release;
                out.index = Index::create(dir, config, std::move(embedder));
                return out;
            },
            py::arg("dir"), py::arg("analyzer") = "english", py::arg("bm25") = "bm25(k1=0.9,b=0.4)",
            py::arg("dense") = "", py::arg("embedder") = nullptr)
        .def(
            "add",
            [](PyIndex& self, std::vector<DocumentTuple> docs, const std::string& chunker, std::size_t batch_documents,
               std::size_t embed_batch) {
                Index& index = self.get();
                WriteOptions options;
                options.embedder = self.embedder;
                if (!chunker.empty()) options.chunker = make_chunker(chunker);
                WINNOW_CHECK(batch_documents > 0 && embed_batch > 0, Errc::InvalidArgument,
                             "batch_documents and embed_batch must be positive");
                options.batch_documents = batch_documents;
                options.embed_batch = embed_batch;
                std::unique_ptr<Index::Writer> writer = index.writer(std::move(options));
                run_released_in_chunks(docs.size(), batch_documents, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                        IndexDocument doc;
                        std::tie(doc.id, doc.title, doc.text, doc.metadata_json, doc.source_path) = std::move(docs[i]);
                        writer->upsert(doc);
                    }
                    writer->commit();
                });
                IngestSummary summary;
                {
                    py::gil_scoped_release release;
                    summary = writer->finish();
                }
                return summary_dict(summary);
            },
            py::arg("documents"), py::arg("chunker") = "", py::arg("batch_documents") = 500,
            py::arg("embed_batch") = 64)
        .def(
            "remove",
            [](PyIndex& self, const std::vector<std::string>& doc_ids) {
                Index& index = self.get();
                WriteOptions options;
                options.embedder = self.embedder;
                py::gil_scoped_release release;
                std::unique_ptr<Index::Writer> writer = index.writer(std::move(options));
                for (const auto& id : doc_ids) writer->remove(id);
                return writer->finish().removed;
            },
            py::arg("doc_ids"))
        .def(
            "search",
            [](const PyIndex& self, const std::string& query, std::size_t k, const std::string& first_stage,
               const std::string& bm25, const std::string& fusion, double rrf_k, double lexical_weight,
               std::size_t k_lexical, std::size_t k_dense, std::size_t ef_search, bool with_text) {
                const SearchOptions options = search_options(first_stage, k, bm25, fusion, rrf_k, lexical_weight,
                                                             k_lexical, k_dense, ef_search, with_text);
                const Index& index = self.get();
                std::vector<Candidate> candidates;
                {
                    py::gil_scoped_release release;
                    candidates = index.search(query, options);
                }
                std::vector<SearchHit> hits(candidates.size());
                for (std::size_t i = 0; i < candidates.size(); ++i) hits[i] = {i + 1, std::move(candidates[i])};
                return hits;
            },
            py::arg("query"), py::arg("k") = 10, py::arg("first_stage") = "bm25", py::arg("bm25") = "",
            py::arg("fusion") = "rrf", py::arg("rrf_k") = 60.0, py::arg("lexical_weight") = 0.5,
            py::arg("k_lexical") = 0, py::arg("k_dense") = 0, py::arg("ef_search") = 0, py::arg("with_text") = true)
        .def(
            "explain",
            [](const PyIndex& self, const std::string& query, std::int64_t chunk_id, const std::string& bm25) {
                std::optional<Bm25Params> params;
                if (!bm25.empty()) params = lexical::parse_bm25_spec(bm25);
                return self.get().explain(query, chunk_id, params);
            },
            py::arg("query"), py::arg("chunk_id"), py::arg("bm25") = "")
        .def("refresh",
             [](const PyIndex& self) {
                 py::gil_scoped_release release;
                 return self.get().refresh();
             })
        .def("close", [](PyIndex& self) { self.index.reset(); })
        .def_property_readonly("dir", [](const PyIndex& self) { return self.get().dir(); })
        .def_property_readonly("document_count", [](const PyIndex& self) { return self.get().document_count(); })
        .def_property_readonly("chunk_count", [](const PyIndex& self) { return self.get().chunk_count(); })
        .def_property_readonly("generation", [](const PyIndex& self) { return self.get().generation(); })
        .def_property_readonly("has_dense", [](const PyIndex& self) { return self.get().has_dense(); })
        .def_property_readonly("source_paths", [](const PyIndex& self) { return self.get().source_paths(); })
        .def_property_readonly("config", [](const PyIndex& self) {
            const IndexConfig& c = self.get().config();
            py::dict d;
            d["analyzer"] = c.analyzer;
            d["bm25"] = c.bm25;
            d["dense"] = c.dense;
            d["embed_model"] = c.embed_model;
            d["dense_dimension"] = c.dense_dimension;
            return d;
        });

    m.def("chunker_names", &chunker_names, "Names of the registered chunkers (document, paragraph, structured).");
}

void bind_pipeline(py::module_& m) {
    py::class_<PipelineHit>(m, "PipelineHit", "A candidate after the pipeline: kept (final_rank > 0) or cut.")
        .def_property_readonly("chunk_id", [](const PipelineHit& h) { return h.candidate.chunk_id; })
        .def_property_readonly("doc_id", [](const PipelineHit& h) { return h.candidate.doc_id; })
        .def_property_readonly("title", [](const PipelineHit& h) { return h.candidate.title; })
        .def_property_readonly("source", [](const PipelineHit& h) { return h.candidate.source; })
        .def_property_readonly("text", [](const PipelineHit& h) { return h.candidate.text; })
        .def_property_readonly("begin", [](const PipelineHit& h) { return h.candidate.begin; })
        .def_property_readonly("end", [](const PipelineHit& h) { return h.candidate.end; })
        .def_property_readonly(
            "score", [](const PipelineHit& h) { return h.rerank_score ? *h.rerank_score : h.first_stage_score; })
        .def_readonly("first_stage_rank", &PipelineHit::first_stage_rank)
        .def_readonly("first_stage_score", &PipelineHit::first_stage_score)
        .def_readonly("rerank_raw", &PipelineHit::rerank_raw)
        .def_readonly("rerank_score", &PipelineHit::rerank_score)
        .def_readonly("truncated", &PipelineHit::truncated)
        .def_readonly("n_windows", &PipelineHit::n_windows)
        .def_readonly("n_tokens", &PipelineHit::n_tokens)
        .def_readonly("final_rank", &PipelineHit::final_rank)
        .def_property_readonly("decision", [](const PipelineHit& h) { return std::string(decision_name(h.decision)); })
        .def_readonly("reason", &PipelineHit::reason)
        .def("__repr__", [](const PipelineHit& h) {
            return "<PipelineHit " + std::string(decision_name(h.decision)) + " doc_id=" + h.candidate.doc_id +
                   " final_rank=" + std::to_string(h.final_rank) + ">";
        });

    py::class_<PipelineResult>(m, "PipelineResult", "What one query through the pipeline gave.")
        .def_readonly("query", &PipelineResult::query)
        .def_readonly("spec", &PipelineResult::spec)
        .def_readonly("hits", &PipelineResult::hits)
        .def_readonly("cut", &PipelineResult::cut)
        .def_readonly("n_candidates", &PipelineResult::n_candidates)
        .def_readonly("n_reranked", &PipelineResult::n_reranked)
        .def_readonly("n_truncated", &PipelineResult::n_truncated)
        .def_readonly("scorer", &PipelineResult::scorer)
        .def_property_readonly("timings",
                               [](const PipelineResult& r) {
                                   py::dict d;
                                   for (const auto& t : r.timings) d[py::str(t.stage)] = t.ms;
                                   return d;
                               })
        .def("__len__", [](const PipelineResult& r) { return r.hits.size(); })
        .def("__repr__", [](const PipelineResult& r) {
            return "<PipelineResult " + std::to_string(r.hits.size()) + " hits of " + std::to_string(r.n_candidates) +
                   " candidates: " + r.spec + ">";
        });

    py::class_<Pipeline>(m, "Pipeline", "A pipeline over an index directory (winnow::Pipeline).")
        .def(py::init([](const std::string& index_dir, const std::string& spec) {
                 PipelineSpec parsed = PipelineSpec::parse(spec);
                 py::gil_scoped_release release;
                 return Pipeline::open_index(index_dir, std::move(parsed));
             }),
             py::arg("index_dir"), py::arg("spec"))
        .def(
            "run",
            [](const Pipeline& self, const std::string& query, const std::map<std::string, std::string>& overrides) {
                py::gil_scoped_release release;
                return self.run(query, overrides);
            },
            py::arg("query"), py::arg("overrides") = std::map<std::string, std::string>{})
        .def(
            "ask",
            [](const Pipeline& self, const std::string& question, const std::map<std::string, std::string>& overrides,
               const std::string& llm_url, const std::string& llm_model, double timeout_s,
               std::optional<double> temperature, std::optional<int> max_tokens) {
                AskOptions options;  // the same library call as `winnow ask` and the server's /v1/ask
                options.llm_url = llm_url;
                options.llm_model = llm_model;
                options.timeout_s = timeout_s;
                options.temperature = temperature;
                options.max_tokens = max_tokens;
                const bool has_llm = Pipeline::has_llm(options);
                PipelineResult result;
                {
                    py::gil_scoped_release release;
                    result = self.ask(question, options, overrides);
                }
                const PackedContext& packed = *result.context;
                py::dict out;
                out["question"] = question;
                out["answer"] = result.answer ? py::cast(result.answer->text) : py::none();
                out["finish_reason"] = result.answer ? py::cast(result.answer->finish_reason) : py::none();
                // What the request named ("" = none: the server's default).
                const char* env_model = std::getenv("WINNOW_LLM_MODEL");
                out["llm_model"] = !llm_model.empty() ? llm_model : (env_model != nullptr ? env_model : "");
                out["answer_model"] = result.answer ? py::cast(result.answer->model) : py::none();
                const char* env_url = std::getenv("WINNOW_LLM_URL");
                out["llm_url"] = !llm_url.empty() ? llm_url : (has_llm && env_url != nullptr ? env_url : "");
                py::list sources;
                for (const auto& src : packed.sources) sources.append(source_dict(src));
                out["sources"] = sources;
                out["system"] = packed.system;
                out["prompt"] = packed.user;
                out["prompt_tokens"] = packed.n_tokens;
                out["n_dropped"] = packed.n_dropped;
                out["result"] = py::cast(std::move(result));
                return out;
            },
            py::arg("question"), py::arg("overrides") = std::map<std::string, std::string>{}, py::arg("llm_url") = "",
            py::arg("llm_model") = "", py::arg("timeout") = 120.0, py::arg("temperature") = std::nullopt,
            py::arg("max_tokens") = std::nullopt)
        .def("refresh",
             [](const Pipeline& self) {
                 py::gil_scoped_release release;
                 return self.refresh();
             })
        .def_property_readonly("spec", [](const Pipeline& self) { return self.spec().to_string(); });

    m.def(
        "parse_pipeline", [](const std::string& spec) { return PipelineSpec::parse(spec).to_string(); },
        py::arg("spec"), "Validates a pipeline spec; returns its canonical form.");
}

void bind_eval(py::module_& m) {
    using RunDict = std::map<std::string, std::vector<std::pair<std::string, double>>>;
    using QrelsDict = std::map<std::string, std::map<std::string, int>>;

    m.def(
        "evaluate_run",
        [](const RunDict& run_dict, const QrelsDict& qrels_dict, const std::string& measures, int relevance_level,
           bool complete) {
            eval::Run run;
            for (const auto& [qid, entries] : run_dict) {
                auto& out = run.results[qid];
                for (const auto& [docno, score] : entries) out.push_back({docno, score});
            }
            eval::Qrels qrels;
            qrels.judgments = qrels_dict;
            const std::vector<eval::Measure> parsed = eval::parse_measures(measures);
            eval::EvalOptions options;
            options.relevance_level = relevance_level;
            options.complete = complete;
            eval::EvalResult result;
            {
                py::gil_scoped_release release;
                result = eval::evaluate(run, qrels, parsed, options);
            }
            py::dict means;
            for (std::size_t i = 0; i < parsed.size(); ++i) means[py::str(parsed[i].name())] = result.mean[i];
            py::dict per_query;
            for (const auto& [qid, values] : result.per_query) {
                py::dict q;
                for (std::size_t i = 0; i < parsed.size(); ++i) q[py::str(parsed[i].name())] = values[i];
                per_query[py::str(qid)] = q;
            }
            return py::make_tuple(means, per_query, result.n_queries);
        },
        py::arg("run"), py::arg("qrels"), py::arg("measures"), py::arg("relevance_level") = 1,
        py::arg("complete") = false);

    m.def(
        "read_qrels", [](const std::string& path) { return eval::read_trec_qrels(path).judgments; }, py::arg("path"),
        "Reads TREC qrels: {qid: {docno: grade}}.");
    m.def(
        "read_run",
        [](const std::string& path) {
            const eval::Run run = eval::read_trec_run(path);
            RunDict out;
            for (const auto& [qid, entries] : run.results) {
                auto& list = out[qid];
                for (const auto& e : entries) list.emplace_back(e.docno, e.score);
            }
            return out;
        },
        py::arg("path"), "Reads a TREC run: {qid: [(docno, score), ...]}.");
    m.def(
        "write_run",
        [](const RunDict& run_dict, const std::string& path, const std::string& name) {
            eval::Run run;
            run.name = name;
            for (const auto& [qid, entries] : run_dict) {
                auto& out = run.results[qid];
                for (const auto& [docno, score] : entries) out.push_back({docno, score});
            }
            eval::write_trec_run(run, path);
        },
        py::arg("run"), py::arg("path"), py::arg("name") = "winnow");
}

}  // namespace

void bind_query(py::module_& m) {
    bind_index(m);
    bind_pipeline(m);
    bind_eval(m);
}

}  // namespace winnow::python
