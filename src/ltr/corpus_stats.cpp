// CorpusStats: index statistics for the learning-to-rank features.
#include "ltr/corpus_stats.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "core/log.h"
#include "index/manifest.h"
#include "store/document_store.h"
#include "winnow/error.h"

namespace winnow::ltr {
namespace fs = std::filesystem;
namespace {

// Counts the analyzed terms of `text`, adding each to the collection frequencies.
std::uint32_t count_terms(lexical::Analyzer& analyzer, std::string_view text,
                          std::unordered_map<std::string, std::uint64_t>& cf) {
    std::uint32_t n = 0;
    analyzer.analyze(text, [&](std::string_view t) {
        ++n;
        auto it = cf.find(std::string(t));
        if (it == cf.end()) cf.emplace(std::string(t), 1);
        else ++it->second;
    });
    return n;
}

struct CacheEntry {
    std::int64_t generation = -1;
    std::shared_ptr<const CorpusStats> stats;
};

std::mutex& cache_mutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, CacheEntry>& cache() {
    static std::map<std::string, CacheEntry> c;
    return c;
}

}  // namespace

CorpusStats::CorpusStats(std::shared_ptr<const lexical::InvertedIndex> chunks,
                         std::shared_ptr<const lexical::InvertedIndex> titles,
                         std::unordered_map<std::string, std::uint32_t> doc_lengths, std::string analyzer_spec)
    : chunks_(std::move(chunks)), titles_(std::move(titles)), doc_lengths_(std::move(doc_lengths)),
      analyzer_spec_(std::move(analyzer_spec)) {
    WINNOW_ASSERT(chunks_ != nullptr && titles_ != nullptr);
}

std::int64_t CorpusStats::document_length(std::string_view doc_id) const {
    auto it = doc_lengths_.find(std::string(doc_id));
    return it == doc_lengths_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

double CorpusStats::collection_probability(std::string_view term) const {
    if (total_terms_ == 0) return 0.0;
    auto it = cf_.find(std::string(term));
    return it == cf_.end() ? 0.0 : static_cast<double>(it->second) / static_cast<double>(total_terms_);
}

void CorpusStats::set_collection_frequencies(std::unordered_map<std::string, std::uint64_t> cf) {
    cf_ = std::move(cf);
    total_terms_ = 0;
    for (const auto& [t, n] : cf_) total_terms_ += n;
}

std::shared_ptr<const CorpusStats> CorpusStats::from_documents(const std::vector<StatsDocument>& docs,
                                                               std::string_view analyzer_spec) {
    const lexical::AnalyzerOptions options = lexical::parse_analyzer_spec(analyzer_spec);
    lexical::InvertedIndex::Builder chunk_builder(options);
    lexical::InvertedIndex::Builder title_builder(options);
    lexical::Analyzer analyzer(options);
    std::unordered_map<std::string, std::uint32_t> lengths;
    std::unordered_map<std::string, std::uint64_t> cf;
    std::int64_t chunk_id = 1;
    std::int64_t doc_no = 1;
    for (const auto& d : docs) {
        std::string joined;
        for (const auto& c : d.chunks) {
            chunk_builder.add(chunk_id++, c);
            joined += c;
            joined += '\n';
        }
        title_builder.add(doc_no++, d.title);
        const std::string& text = d.text.empty() ? joined : d.text;
        lengths[d.id] = count_terms(analyzer, d.title, cf) + count_terms(analyzer, text, cf);
    }
    auto chunks = std::make_shared<lexical::InvertedIndex>(chunk_builder.finish(0, std::string(analyzer_spec)));
    auto titles = std::make_shared<lexical::InvertedIndex>(title_builder.finish(0, std::string(analyzer_spec)));
    auto stats = std::make_shared<CorpusStats>(std::move(chunks), std::move(titles), std::move(lengths),
                                               std::string(analyzer_spec));
    stats->set_collection_frequencies(std::move(cf));
    return stats;
}

std::shared_ptr<const CorpusStats> CorpusStats::open_index(const std::string& dir) {
    WINNOW_CHECK(fs::exists(fs::path(dir) / "store.sqlite"), Errc::NotFound,
                 "ltr: {} holds no index (no store.sqlite); make one with `winnow index`", dir);
    std::string key = fs::weakly_canonical(fs::path(dir)).string();
    std::lock_guard<std::mutex> lock(cache_mutex());
    store::DocumentStore store(dir, false);
    const std::int64_t generation = store.generation();
    if (auto it = cache().find(key); it != cache().end() && it->second.generation == generation) {
        return it->second.stats;
    }
    const std::string analyzer_spec = store.setting("analyzer").value_or("english");
    std::shared_ptr<const lexical::InvertedIndex> chunks;
    // The index's own segment when it is one without deletions (what a fresh `winnow index` leaves,
    // and what a full merge makes); otherwise (several segments) one built here from the store.
    std::optional<lexical::InvertedIndex> loaded;
    if (const auto m = index::Manifest::load(dir);
        m && m->generation == generation && m->segments.size() == 1 && m->segments[0].deleted == 0) {
        loaded = lexical::InvertedIndex::load((fs::path(dir) / m->segments[0].lexical_file()).string(), std::nullopt,
                                              analyzer_spec);
    }
    if (loaded) {
        chunks = std::make_shared<lexical::InvertedIndex>(std::move(*loaded));
    } else {
        chunks = std::make_shared<lexical::InvertedIndex>(lexical::InvertedIndex::build(store, analyzer_spec));
    }
    // Distinct documents in chunk order, then their titles and lengths.
    std::vector<std::string> doc_ids;
    {
        std::unordered_set<std::string> seen;
        store.for_each_chunk_doc([&](std::int64_t, const std::string& doc_id) {
            if (seen.insert(doc_id).second) doc_ids.push_back(doc_id);
        });
    }
    const lexical::AnalyzerOptions options = lexical::parse_analyzer_spec(analyzer_spec);
    lexical::InvertedIndex::Builder title_builder(options);
    lexical::Analyzer analyzer(options);
    std::unordered_map<std::string, std::uint32_t> lengths;
    std::unordered_map<std::string, std::uint64_t> cf;
    lengths.reserve(doc_ids.size());
    std::int64_t doc_no = 1;
    for (const auto& id : doc_ids) {
        auto doc = store.document(id);
        if (!doc) continue;
        title_builder.add(doc_no++, doc->doc.title);
        lengths[id] = count_terms(analyzer, doc->doc.title, cf) + count_terms(analyzer, doc->doc.text, cf);
    }
    auto titles = std::make_shared<lexical::InvertedIndex>(title_builder.finish(generation, analyzer_spec));
    auto stats = std::make_shared<CorpusStats>(std::move(chunks), std::move(titles), std::move(lengths), analyzer_spec);
    stats->set_collection_frequencies(std::move(cf));
    log::debug("ltr: statistics of {} ({} documents, {} chunks)", dir, stats->document_count(), stats->chunks().doc_count());
    cache()[key] = {generation, stats};
    return stats;
}

}  // namespace winnow::ltr
