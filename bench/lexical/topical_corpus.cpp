#include "topical_corpus.h"

#include <cctype>
#include <unordered_map>

#include "eval/dataset.h"
#include "eval/harness.h"
#include "winnow/error.h"

namespace winnow::bench {
namespace {

constexpr const char* kCollections[] = {"npl-vaswani", "beir-scifact", "cranfield", "cisi", "cacm", "medline",
                                        "lisa", "adi", "subset-dbpedia-agentset", "subset-msmarco-agentset",
                                        "wikiqa-test"};

// SplitMix64: a passage's own stream from (seed, index).
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

TopicalCorpus::TopicalCorpus(const std::string& shared_dir) {
    std::unordered_map<std::string, std::uint32_t> ids;
    auto add_words = [&](const std::string& text) {
        std::string word;
        auto flush = [&] {
            if (word.empty()) return;
            auto [it, fresh] = ids.emplace(word, static_cast<std::uint32_t>(words_.size()));
            if (fresh) words_.push_back(word);
            occurrences_.push_back(it->second);
            word.clear();
        };
        for (const char c : text) {
            if (std::isalnum(static_cast<unsigned char>(c))) {
                word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            } else {
                flush();
            }
        }
        flush();
    };
    for (const char* name : kCollections) {
        const std::string dir = shared_dir + "/data/ir/" + name;
        const auto dataset = eval::load_dataset(dir);
        const auto collection = static_cast<std::uint32_t>(collection_names_.size());
        const std::uint64_t begin = occurrences_.size();
        eval::for_each_dataset_document(dataset, [&](std::string, std::string title, std::string text) {
            const std::uint64_t b = occurrences_.size();
            add_words(title);
            add_words(text);
            if (occurrences_.size() > b) docs_.push_back({b, occurrences_.size(), collection});
        });
        collection_range_.emplace_back(begin, occurrences_.size());
        collection_names_.push_back(name);
        for (const auto& q : dataset.queries) queries_.push_back(q.text);
    }
    WINNOW_CHECK(!docs_.empty(), Errc::NotFound, "{}/data/ir: no documents read", shared_dir);
}

void TopicalCorpus::passage(std::uint64_t seed, std::uint64_t index, std::string& out) const {
    std::mt19937_64 rng(mix(seed * 0x100000001b3ULL + mix(index)));
    out.clear();
    const Source& src = docs_[rng() % docs_.size()];
    const auto [cb, ce] = collection_range_[src.collection];
    const int length = 20 + static_cast<int>(rng() % 81);
    for (int i = 0; i < length; ++i) {
        const std::uint64_t r = rng();
        const std::uint64_t u = r % 10;
        const std::uint64_t v = r >> 8;
        std::uint32_t word;
        if (u < 7) {
            word = occurrences_[src.begin + v % (src.end - src.begin)];
        } else if (u < 9) {
            word = occurrences_[cb + v % (ce - cb)];
        } else {
            word = occurrences_[v % occurrences_.size()];
        }
        out += words_[word];
        out.push_back(' ');
    }
}

void TopicalCorpus::source(std::size_t i, std::string& out) const {
    out.clear();
    for (std::uint64_t w = docs_[i].begin; w < docs_[i].end; ++w) {
        out += words_[occurrences_[w]];
        out.push_back(' ');
    }
}

}  // namespace winnow::bench
