#include "retrieval/demo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/hub.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

namespace winnow::retrieval {

std::vector<DemoQuery> load_queries_tsv(const std::string& path) {
    std::ifstream in(path);
    WINNOW_CHECK(in.good(), Errc::NotFound, "{}: cannot open the queries file", path);
    std::vector<DemoQuery> out;
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        const auto tab = line.find('\t');
        WINNOW_CHECK(tab != std::string::npos && tab > 0 && tab + 1 < line.size(), Errc::Corrupt,
                     "{} line {}: expected id<TAB>text", path, n);
        out.push_back({line.substr(0, tab), line.substr(tab + 1)});
    }
    return out;
}

Qrels load_qrels(const std::string& path) {
    std::ifstream in(path);
    WINNOW_CHECK(in.good(), Errc::NotFound, "{}: cannot open the qrels file", path);
    Qrels out;
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::istringstream ss(line);
        std::string q, iter, doc;
        int grade = 0;
        if (!(ss >> q)) continue;
        WINNOW_CHECK(static_cast<bool>(ss >> iter >> doc >> grade), Errc::Corrupt, "{} line {}: expected 'query 0 doc grade'", path, n);
        out[q][doc] = grade;
    }
    return out;
}

std::string find_demo_dir() {
    if (const char* env = std::getenv("WINNOW_DEMO_DIR"); env && *env) {
        WINNOW_CHECK(fs::is_directory(env), Errc::NotFound, "WINNOW_DEMO_DIR={} is not a folder", env);
        return env;
    }
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back(exe.parent_path() / ".." / ".." / "data" / "demo");
        candidates.push_back(exe.parent_path() / ".." / "data" / "demo");
        candidates.push_back(exe.parent_path() / ".." / "share" / "winnow" / "demo");
    }
    candidates.push_back(fs::current_path(ec) / "data" / "demo");
    for (const auto& c : candidates) {
        if (fs::is_regular_file(c / "queries.tsv", ec)) return fs::weakly_canonical(c, ec).string();
    }
    WINNOW_THROW(Errc::NotFound, "the demo document set (data/demo) was not found; run from the repository root or "
                 "set WINNOW_DEMO_DIR");
}

RerankerChoice choose_reranker(const std::string& model, const std::string& demo_dir) {
    auto quoted = [](const std::string& m) {
        const bool plain = m.find_first_of(" ,()>\"") == std::string::npos;
        return plain ? m : "\"" + m + "\"";
    };
    if (!model.empty()) return {"rerank(model=" + quoted(model) + ")", "cross-encoder " + model + " (--model)"};
    if (const char* env = std::getenv("WINNOW_RERANK_MODEL"); env && *env) {
        return {"rerank(model=" + quoted(env) + ")", std::string("cross-encoder ") + env + " (WINNOW_RERANK_MODEL)"};
    }
    // Known cross-encoders in the Hugging Face cache, best first.
    static const char* kPreferred[] = {"BAAI/bge-reranker-v2-m3", "Alibaba-NLP/gte-reranker-modernbert-base",
                                       "BAAI/bge-reranker-base", "mixedbread-ai/mxbai-rerank-base-v1",
                                       "cross-encoder/ms-marco-MiniLM-L12-v2", "cross-encoder/ms-marco-MiniLM-L6-v2",
                                       "cross-encoder/ms-marco-MiniLM-L-6-v2", "cross-encoder/ms-marco-TinyBERT-L2-v2"};
    const auto cached = hub::cached_repos(hub::options_from_env());
    for (const char* name : kPreferred) {
        if (std::find(cached.begin(), cached.end(), name) != cached.end()) {
            return {std::string("rerank(model=") + name + ")", std::string("cross-encoder ") + name + " (from the Hugging Face cache)"};
        }
    }
    for (const auto& repo : cached) {
        if (repo.find("rerank") != std::string::npos || repo.rfind("cross-encoder/", 0) == 0) {
            return {"rerank(model=" + repo + ")", "cross-encoder " + repo + " (from the Hugging Face cache)"};
        }
    }
    if (has_scorer("ltr")) {
        std::string ltr_model;
        if (const char* env = std::getenv("WINNOW_LTR_MODEL"); env && *env) ltr_model = env;
        else {
            // The shipped model: models/ltr/default.ltr of the source tree (data/demo/../../).
            for (const fs::path& p : {fs::path(demo_dir) / ".." / ".." / "models" / "ltr" / "default.ltr",
                                      fs::path(demo_dir) / ".." / "ltr" / "default.ltr"}) {
                std::error_code ec;
                if (fs::is_regular_file(p, ec)) {
                    ltr_model = fs::weakly_canonical(p, ec).string();
                    break;
                }
            }
        }
        if (!ltr_model.empty()) return {"ltr(model=" + quoted(ltr_model) + ")", "learning-to-rank model " + ltr_model};
    }
    return {"", "none (no cross-encoder configured or cached: BM25 order; set --model or WINNOW_RERANK_MODEL, or "
                "`winnow pull BAAI/bge-reranker-base`)"};
}

std::string demo_pipeline(const RerankerChoice& choice) {
    if (choice.spec_stage.empty()) return "bm25(k=30) > diversify(per_doc=2) > cutoff(top_n=5)";
    return "bm25(k=30) > " + choice.spec_stage + " > diversify(per_doc=2) > cutoff(top_n=5, score_gap=0.6)";
}

std::string hit_file_name(const Candidate& candidate) {
    const std::string& path = candidate.source.empty() ? candidate.doc_id : candidate.source;
    return fs::path(path).filename().string();
}

}  // namespace winnow::retrieval
