// Rerank latency of the learning-to-rank stage for 100 candidates: feature extraction, model
// prediction (the shipped default model, models/ltr/default.ltr), and both together.
// Corpus: 5,000 generated documents of 150-250 words over a 20,000-word Zipf vocabulary (SciFact
// abstracts are ~200 words); queries of 12 words (SciFact claims average ~12).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "ltr/features.h"
#include "ltr/ltr_model.h"

using namespace winnow;
using namespace winnow::ltr;

namespace {

struct Fixture {
    std::shared_ptr<const CorpusStats> stats;
    std::vector<Candidate> candidates;
    std::string query;
    std::shared_ptr<const LtrModel> model;

    Fixture() {
        std::mt19937 rng(7);
        std::vector<double> weights(20000);
        for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0 / static_cast<double>(i + 1);
        std::discrete_distribution<int> zipf(weights.begin(), weights.end());
        auto words = [&](int n) {
            std::string s;
            for (int i = 0; i < n; ++i) s += "w" + std::to_string(zipf(rng)) + " ";
            return s;
        };
        std::vector<StatsDocument> docs;
        for (int d = 0; d < 5000; ++d) {
            const std::string title = words(8);
            docs.push_back({"d" + std::to_string(d), title, {title + words(150 + static_cast<int>(rng() % 100))}, ""});
        }
        stats = CorpusStats::from_documents(docs);
        query = words(12);
        for (int i = 0; i < 100; ++i) {
            Candidate c;
            c.doc_id = docs[i * 37].id;
            c.title = docs[i * 37].title;
            c.text = docs[i * 37].chunks[0];
            c.score = 20.0f - 0.1f * static_cast<float>(i);
            candidates.push_back(std::move(c));
        }
        model = LtrModel::load(WINNOW_SOURCE_DIR "/models/ltr/default.ltr");
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

void BM_LtrFeatures100(benchmark::State& state) {
    Fixture& f = fixture();
    const FeatureExtractor fx(f.stats);
    for (auto _ : state) benchmark::DoNotOptimize(fx.extract(f.query, f.candidates));
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_LtrFeatures100)->Unit(benchmark::kMicrosecond);

void BM_LtrPredict100(benchmark::State& state) {
    Fixture& f = fixture();
    const FeatureExtractor fx(f.stats);
    const auto x = fx.extract(f.query, f.candidates);
    for (auto _ : state) benchmark::DoNotOptimize(f.model->predict(x.data(), 100));
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_LtrPredict100)->Unit(benchmark::kMicrosecond);

void BM_LtrRerank100(benchmark::State& state) {
    Fixture& f = fixture();
    const FeatureExtractor fx(f.stats);
    for (auto _ : state) {
        const auto x = fx.extract(f.query, f.candidates);
        benchmark::DoNotOptimize(f.model->predict(x.data(), 100));
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_LtrRerank100)->Unit(benchmark::kMicrosecond);

}  // namespace
