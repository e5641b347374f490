#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <span>
#include <thread>

#include "index/dense_index.h"
#include "winnow/error.h"

namespace winnow::dense {
namespace {

std::vector<float> random_unit_vectors(std::size_t n, std::size_t dim, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
        float norm = 0;
        for (std::size_t j = 0; j < dim; ++j) {
            v[i * dim + j] = normal(rng);
            norm += v[i * dim + j] * v[i * dim + j];
        }
        norm = std::sqrt(norm);
        for (std::size_t j = 0; j < dim; ++j) v[i * dim + j] /= norm;
    }
    return v;
}

TEST(DenseIndex, FlatIsExactInnerProduct) {
    DenseIndex flat("Flat", 4);
    const std::vector<std::int64_t> ids = {100, 200, 300};
    const std::vector<float> vecs = {1, 0, 0, 0, 0, 1, 0, 0, 0.6f, 0.8f, 0, 0};
    flat.add(ids, vecs);
    const std::vector<float> q = {0.0f, 1.0f, 0.0f, 0.0f};
    const auto hits = flat.search(q, 10);
    ASSERT_EQ(hits.size(), 3u);
    EXPECT_EQ(hits[0].chunk_id, 200);
    EXPECT_FLOAT_EQ(hits[0].score, 1.0f);
    EXPECT_EQ(hits[1].chunk_id, 300);
    EXPECT_FLOAT_EQ(hits[1].score, 0.8f);
    EXPECT_EQ(hits[2].chunk_id, 100);
    EXPECT_THROW(flat.search(std::vector<float>{1.0f}, 1), Error);
    EXPECT_THROW(flat.add(ids, std::vector<float>{1.0f}), Error);
    EXPECT_THROW(DenseIndex("NoSuchIndex", 4), Error);
    EXPECT_THROW(DenseIndex("Flat", 0), Error);
}

TEST(DenseIndex, Hnsw32RecallAt10AgainstFlat) {
    constexpr std::size_t kN = 20000;
    constexpr std::size_t kDim = 32;
    constexpr std::size_t kQueries = 200;
    const auto base = random_unit_vectors(kN, kDim, 1234);
    const auto queries = random_unit_vectors(kQueries, kDim, 99);
    std::vector<std::int64_t> ids(kN);
    for (std::size_t i = 0; i < kN; ++i) ids[i] = static_cast<std::int64_t>(i) * 3 + 7;
    DenseIndex flat("Flat", kDim);
    DenseIndex hnsw("HNSW32", kDim);
    flat.add(ids, base);
    hnsw.add(ids, base);
    std::size_t found = 0;
    for (std::size_t q = 0; q < kQueries; ++q) {
        std::span<const float> query(queries.data() + q * kDim, kDim);
        const auto exact = flat.search(query, 10);
        const auto approx = hnsw.search(query, 10);
        ASSERT_EQ(exact.size(), 10u);
        for (const auto& e : exact) {
            for (const auto& a : approx) {
                if (a.chunk_id == e.chunk_id) {
                    ++found;
                    break;
                }
            }
        }
    }
    const double recall = static_cast<double>(found) / (kQueries * 10);
    std::printf("HNSW32 recall@10 vs Flat: %.4f\n", recall);
    EXPECT_GE(recall, 0.95);
}

// ef_search per search: a narrow beam finds fewer of the true top 10 than a wide one on the same
// HNSW graph, and the index's own width is back afterwards.
TEST(DenseIndex, EfSearchPerSearchWidensTheBeam) {
    constexpr std::size_t kN = 20000;
    constexpr std::size_t kDim = 32;
    constexpr std::size_t kQueries = 200;
    const auto base = random_unit_vectors(kN, kDim, 4321);
    const auto queries = random_unit_vectors(kQueries, kDim, 77);
    std::vector<std::int64_t> ids(kN);
    for (std::size_t i = 0; i < kN; ++i) ids[i] = static_cast<std::int64_t>(i);
    DenseIndex flat("Flat", kDim);
    DenseIndex hnsw("HNSW32", kDim);
    flat.add(ids, base);
    hnsw.add(ids, base);
    auto recall = [&](std::size_t ef) {
        std::size_t found = 0;
        for (std::size_t q = 0; q < kQueries; ++q) {
            std::span<const float> query(queries.data() + q * kDim, kDim);
            const auto exact = flat.search(query, 10);
            const auto approx = hnsw.search(query, 10, ef);
            for (const auto& e : exact) {
                for (const auto& a : approx) found += a.chunk_id == e.chunk_id ? 1 : 0;
            }
        }
        return static_cast<double>(found) / (kQueries * 10);
    };
    const double narrow = recall(10);  // the beam is max(ef, k): 10
    const double wide = recall(512);
    std::printf("HNSW32 recall@10: ef_search 10 %.4f, 512 %.4f\n", narrow, wide);
    EXPECT_LT(narrow + 0.02, wide);
    EXPECT_EQ(hnsw.ef_search(), DenseIndex::kDefaultEfSearch);
    EXPECT_EQ(flat.ef_search(), 0u);
}

TEST(DenseIndex, SaveLoadChecksGeneration) {
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_dense_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "dense.faiss").string();
    const auto base = random_unit_vectors(500, 16, 5);
    std::vector<std::int64_t> ids(500);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i) + 1000;
    for (const char* factory : {"Flat", "HNSW32"}) {
        DenseIndex d(factory, 16, 42);
        d.add(ids, base);
        d.save(path);
        auto loaded = DenseIndex::load(path, 42);
        ASSERT_TRUE(loaded.has_value()) << factory;
        EXPECT_EQ(loaded->size(), 500u);
        EXPECT_EQ(loaded->factory(), factory);
        std::span<const float> q(base.data() + 16 * 17, 16);
        EXPECT_EQ(loaded->search(q, 1).at(0).chunk_id, 1017);
        EXPECT_FALSE(DenseIndex::load(path, 43).has_value());
    }
    std::filesystem::resize_file(path, 100);
    EXPECT_FALSE(DenseIndex::load(path, 42).has_value());
    EXPECT_FALSE(DenseIndex::load((dir / "missing").string(), 42).has_value());
    std::filesystem::remove_all(dir);
}

// The server and the pipeline search one DenseIndex from many threads at once (search() is const):
// every concurrent result equals the single-threaded one. Run under ThreadSanitizer by
// scripts/check-periodic (tests/README.md).
TEST(DenseIndex, ConcurrentSearchesMatchSequentialOnes) {
    constexpr std::size_t kN = 2000;
    constexpr std::size_t kDim = 16;
    constexpr std::size_t kQueries = 40;
    const auto base = random_unit_vectors(kN, kDim, 7);
    const auto queries = random_unit_vectors(kQueries, kDim, 8);
    std::vector<std::int64_t> ids(kN);
    for (std::size_t i = 0; i < kN; ++i) ids[i] = static_cast<std::int64_t>(i);
    for (const char* factory : {"Flat", "HNSW16"}) {
        DenseIndex index(factory, kDim);
        index.add(ids, base);
        std::vector<std::vector<DenseHit>> expected(kQueries);
        for (std::size_t q = 0; q < kQueries; ++q) {
            expected[q] = index.search(std::span<const float>(queries.data() + q * kDim, kDim), 10);
        }
        std::atomic<int> mismatches{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (std::size_t round = 0; round < 3; ++round) {
                    for (std::size_t i = 0; i < kQueries; ++i) {
                        const std::size_t q = (i + static_cast<std::size_t>(t) * 7) % kQueries;
                        const auto hits = index.search(std::span<const float>(queries.data() + q * kDim, kDim), 10);
                        bool same = hits.size() == expected[q].size();
                        for (std::size_t h = 0; same && h < hits.size(); ++h) {
                            same = hits[h].chunk_id == expected[q][h].chunk_id && hits[h].score == expected[q][h].score;
                        }
                        if (!same) ++mismatches;
                    }
                }
            });
        }
        for (auto& th : threads) th.join();
        EXPECT_EQ(mismatches.load(), 0) << factory;
    }
}

}  // namespace
}  // namespace winnow::dense
