// Deterministic stand-ins for Reranker and Embedder, for testing the HTTP layer and the scheduler
// without model files: scores and vectors are pure functions of the text, and every batch the
// server forms is recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>
#include <set>
#include <thread>

#include "winnow/embedder.h"
#include "winnow/reranker.h"

namespace winnow::testing {

// Raw score: the number of distinct query words found in the document, minus 1.
inline float overlap_logit(const std::string& query, const std::string& doc) {
    std::set<std::string> words;
    std::istringstream q(query);
    for (std::string w; q >> w;) words.insert(w);
    std::set<std::string> hits;
    std::istringstream d(doc);
    for (std::string w; d >> w;) {
        if (words.count(w)) hits.insert(w);
    }
    return static_cast<float>(hits.size()) - 1.0f;
}

class FakeReranker : public Reranker {
public:
    std::chrono::milliseconds delay{0};  // per batch
    std::size_t max_len = 512;

    std::vector<PairScore> score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const override {
        if (held_.load()) {
            ++waiting_;
            while (held_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            --waiting_;
        }
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        std::vector<PairScore> out;
        for (const auto& [q, d] : pairs) {
            PairScore s;
            s.raw_score = overlap_logit(q, d);
            s.score = 1.0f / (1.0f + std::exp(-s.raw_score));
            const std::size_t n = (q.size() + d.size()) / 4 + 3;
            s.n_tokens = static_cast<std::uint32_t>(std::min(n, max_len));
            s.truncated = n > max_len;
            out.push_back(s);
        }
        std::lock_guard lock(mutex_);
        batches_.push_back(pairs.size());
        pairs_scored_ += pairs.size();
        return out;
    }
    std::vector<PairScore> score_tokenized(std::span<const TokenizedPair>) const override {
        throw Error(Errc::Unsupported, "fake reranker takes text");
    }
    const Tokenizer& tokenizer() const override { throw Error(Errc::Unsupported, "fake reranker has no tokenizer"); }
    std::size_t max_length() const override { return max_len; }
    std::string name() const override { return "fake-reranker"; }
    Precision precision() const override { return Precision::Fp32; }

    std::vector<std::size_t> batches() const {
        std::lock_guard lock(mutex_);
        return batches_;
    }
    std::size_t pairs_scored() const {
        std::lock_guard lock(mutex_);
        return pairs_scored_;
    }
    // While held, a batch waits before scoring (tests line up requests behind it).
    void hold() { held_.store(true); }
    void release() { held_.store(false); }
    int batches_waiting() const { return waiting_.load(); }

private:
    std::atomic<bool> held_{false};
    mutable std::atomic<int> waiting_{0};
    mutable std::mutex mutex_;
    mutable std::vector<std::size_t> batches_;
    mutable std::size_t pairs_scored_ = 0;
};

class FakeEmbedder : public Embedder {
public:
    static constexpr std::size_t kDim = 8;
    std::chrono::milliseconds delay{0};

    std::vector<std::vector<float>> embed(std::span<const std::string> texts, EmbedKind kind,
                                          std::size_t dimensions) const override {
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        std::vector<std::vector<float>> out;
        for (const auto& t : texts) {
            std::vector<float> v(kDim);
            for (std::size_t i = 0; i < kDim; ++i) {
                v[i] = static_cast<float>((t.size() + 3 * i + (kind == EmbedKind::Query ? 1 : 0)) % 7) + 0.5f;
            }
            if (dimensions > 0) v.resize(dimensions);
            double sum = 0;
            for (float x : v) sum += double(x) * x;
            for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
            out.push_back(std::move(v));
        }
        std::lock_guard lock(mutex_);
        batches_.push_back(texts.size());
        return out;
    }
    std::size_t dimension() const override { return kDim; }
    bool normalized() const override { return true; }
    const Tokenizer& tokenizer() const override { throw Error(Errc::Unsupported, "fake embedder has no tokenizer"); }
    std::size_t max_length() const override { return 512; }
    std::string name() const override { return "fake-embedder"; }

    std::vector<std::size_t> batches() const {
        std::lock_guard lock(mutex_);
        return batches_;
    }

private:
    mutable std::mutex mutex_;
    mutable std::vector<std::size_t> batches_;
};

}  // namespace winnow::testing
