// BM25 (Lucene-compatible, k1 = 0.9, b = 0.4, EnglishAnalyzer) on SciFact and NPL through the
// whole indexing path (corpus reader -> store -> inverted index -> search), scored with trec_eval
// semantics (src/eval). Published references: SciFact nDCG@10 0.665 (BEIR, Elasticsearch) and
// 0.679 (Anserini, title+text "flat"); NPL (Vaswani) MAP 0.286 (Anserini-like BM25).
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "core/log.h"
#include "ingest/corpus_reader.h"
#include "support/temp_dir.h"
#include "winnow/eval.h"
#include "winnow/index.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;
const std::string kShared = WINNOW_SHARED_DIR;

// An index path that does not exist yet, inside a fresh temporary directory that is removed with it.
struct TempDir {
    explicit TempDir(const std::string& name) : parent(name) {}
    winnow::testing::TempDir parent;
    fs::path path = parent.path / "index";
};

std::unique_ptr<Index> build(const std::string& dir, const std::string& input, ingest::CorpusFormat format) {
    auto index = Index::create(dir, IndexConfig{});
    auto writer = index->writer();
    ingest::read_corpus(input, format, [&](ingest::CorpusDocument&& d) {
        writer->upsert(IndexDocument{d.id, d.title, d.text, d.metadata_json, d.source_path});
    });
    writer->finish();
    return index;
}

eval::Run run_queries(const Index& index, const std::vector<std::pair<std::string, std::string>>& queries,
                      std::size_t k) {
    eval::Run run;
    SearchOptions options;
    options.k = k;
    options.with_text = false;
    for (const auto& [qid, text] : queries) {
        auto& entries = run.results[qid];
        for (const auto& h : index.search(text, options)) entries.push_back({h.doc_id, h.score});
    }
    return run;
}

TEST(Bm25Golden, SciFactNdcgAt10) {
    const std::string dir = kShared + "/data/ir/beir-scifact";
    TempDir tmp("winnow_golden_scifact");
    const auto t0 = std::chrono::steady_clock::now();
    auto index = build(tmp.path.string(), dir, ingest::CorpusFormat::Beir);
    EXPECT_EQ(index->document_count(), 5183u);

    eval::Qrels qrels;
    {
        std::ifstream in(dir + "/qrels/test.tsv");
        std::string qid, docid, grade;
        std::getline(in, qid);  // header
        while (in >> qid >> docid >> grade) qrels.set(qid, docid, std::stoi(grade));
    }
    ASSERT_EQ(qrels.n_queries(), 300u);
    std::vector<std::pair<std::string, std::string>> queries;
    {
        std::ifstream in(dir + "/queries.jsonl");
        std::string line;
        while (std::getline(in, line)) {
            const Json j = Json::parse(line);
            const std::string qid = j.at("_id").get<std::string>();
            if (qrels.find(qid)) queries.emplace_back(qid, j.at("text").get<std::string>());
        }
    }
    ASSERT_EQ(queries.size(), 300u);
    const auto run = run_queries(*index, queries, 1000);
    const auto result = eval::evaluate(run, qrels, eval::parse_measures("ndcg_cut_10,recall_100,map"));
    const double ndcg = result.value("ndcg_cut_10");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("SciFact BM25: ndcg_cut_10 %.4f recall_100 %.4f map %.4f (%.1f s)\n", ndcg,
                result.value("recall_100"), result.value("map"), seconds);
    EXPECT_GE(ndcg, 0.665);
    EXPECT_LE(ndcg, 0.69);
}

TEST(Bm25Golden, NplMap) {
    const std::string dir = kShared + "/data/ir/npl-vaswani";
    TempDir tmp("winnow_golden_npl");
    const auto t0 = std::chrono::steady_clock::now();
    auto index = build(tmp.path.string(), dir + "/corpus/doc-text.trec", ingest::CorpusFormat::Trec);
    EXPECT_EQ(index->document_count(), 11429u);
    const auto qrels = eval::read_trec_qrels(dir + "/qrels");
    std::vector<std::pair<std::string, std::string>> queries;
    {
        std::ifstream in(dir + "/query-text.trec");
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::size_t pos = 0;
        while ((pos = all.find("<num>", pos)) != std::string::npos) {
            const auto num_end = all.find("</num>", pos);
            const auto title = all.find("<title>", num_end);
            const auto title_end = all.find("</title>", title);
            queries.emplace_back(all.substr(pos + 5, num_end - pos - 5), all.substr(title + 7, title_end - title - 7));
            pos = title_end;
        }
    }
    ASSERT_EQ(queries.size(), 93u);
    const auto run = run_queries(*index, queries, 1000);
    const auto result = eval::evaluate(run, qrels, eval::parse_measures("map,ndcg_cut_10,P_10"));
    const double map = result.value("map");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("NPL BM25: map %.4f ndcg_cut_10 %.4f P_10 %.4f (%.1f s)\n", map, result.value("ndcg_cut_10"),
                result.value("P_10"), seconds);
    EXPECT_GE(map, 0.27);
}

}  // namespace
}  // namespace winnow
