#include "lexical/segment_searcher.h"

#include <algorithm>
#include <limits>

#include "winnow/error.h"

namespace winnow::lexical {
namespace {

struct HeapEntry {
    float score;
    std::int64_t chunk_id;
    std::uint32_t segment;
    std::uint32_t doc;
};
// Better first: higher score, then lower chunk id (Lucene keeps the lower doc on ties).
bool better(const HeapEntry& a, const HeapEntry& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.chunk_id < b.chunk_id;
}
// Heap order: the worst entry on top.
struct WorseOnTop {
    bool operator()(const HeapEntry& a, const HeapEntry& b) const { return better(a, b); }
};

class TopK {
public:
    explicit TopK(std::size_t k) : k_(k) {}
    bool full() const { return heap_.size() == k_; }
    // The score a document must beat (or equal with a lower chunk id) to enter; -1 while not full.
    double threshold() const { return full() ? heap_.front().score : -1.0; }
    void offer(const HeapEntry& e) {
        if (heap_.size() < k_) {
            heap_.push_back(e);
            std::push_heap(heap_.begin(), heap_.end(), WorseOnTop());
        } else if (better(e, heap_.front())) {
            std::pop_heap(heap_.begin(), heap_.end(), WorseOnTop());
            heap_.back() = e;
            std::push_heap(heap_.begin(), heap_.end(), WorseOnTop());
        }
    }
    std::vector<LexicalHit> drain() {
        std::sort(heap_.begin(), heap_.end(), better);
        std::vector<LexicalHit> out;
        out.reserve(heap_.size());
        for (const auto& e : heap_) out.push_back({e.chunk_id, e.doc, e.segment, e.score});
        return out;
    }

private:
    std::size_t k_;
    std::vector<HeapEntry> heap_;
};

// One query term bound to the snapshot's statistics.
struct WeightedTerm {
    std::string_view term;
    float weight = 0.0f;  // boost * idf
};

std::vector<WeightedTerm> weigh(const Bm25Query& query, const SegmentSearcher& s, const Bm25Similarity& sim) {
    std::vector<WeightedTerm> out;
    for (const auto& qt : query.terms) out.push_back({qt.term, qt.boost * sim.idf(s.doc_freq(qt.term))});
    return out;
}

// The largest tf * norm_inverse of `term_id`'s postings under `sim` (from its impacts).
float max_tf_norm(std::span<const std::uint32_t> tfs, std::span<const std::uint8_t> norms, const Bm25Similarity& sim) {
    float best = 0.0f;
    for (std::size_t i = 0; i < tfs.size(); ++i) {
        best = std::max(best, static_cast<float>(tfs[i]) * sim.norm_inverse(norms[i]));
    }
    return best;
}

// Upper bounds are padded so float rounding in a sum can never prune a true top-k document.
double padded(float bound) { return static_cast<double>(bound) * (1.0 + 1e-6) + 1e-9; }

}  // namespace

SegmentSearcher::SegmentSearcher(std::vector<Segment> segments) : segments_(std::move(segments)) {
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        const Segment& s = segments_[i];
        WINNOW_CHECK(s.index != nullptr, Errc::InvalidArgument, "segment {}: no index", i);
        if (i == 0) analyzer_spec_ = s.index->analyzer_spec();
        WINNOW_CHECK(s.index->analyzer_spec() == analyzer_spec_, Errc::InvalidArgument,
                     "segment {}: analyzer '{}' differs from '{}'", i, s.index->analyzer_spec(), analyzer_spec_);
        WINNOW_CHECK(s.live_docs == nullptr || s.live_docs->doc_count() == s.index->doc_count(),
                     Errc::InvalidArgument, "segment {}: live docs of {} documents for a segment of {}", i,
                     s.live_docs ? s.live_docs->doc_count() : 0, s.index->doc_count());
        doc_count_ += s.index->docs_with_terms();
        sum_ttf_ += s.index->sum_total_term_freq();
        live_count_ += s.live_docs ? s.live_docs->live_count() : s.index->doc_count();
    }
}

std::uint64_t SegmentSearcher::doc_freq(std::string_view term) const {
    std::uint64_t df = 0;
    for (const auto& s : segments_) df += s.index->doc_freq(term);
    return df;
}

Bm25Similarity SegmentSearcher::similarity(const Bm25Params& params) const {
    return Bm25Similarity(params, doc_count_, sum_ttf_);
}

Bm25Query SegmentSearcher::parse(std::string_view query_text) const {
    if (segments_.empty()) return {};
    return segments_.front().index->parse(query_text);
}

std::vector<LexicalHit> SegmentSearcher::search(std::string_view query_text, std::size_t k,
                                                const Bm25Params& params) const {
    return search(parse(query_text), k, params);
}

std::vector<LexicalHit> SegmentSearcher::search(const Bm25Query& query, std::size_t k, const Bm25Params& params) const {
    if (k == 0 || segments_.empty() || query.terms.empty()) return {};
    const Bm25Similarity sim = similarity(params);
    const auto terms = weigh(query, *this, sim);
    const std::size_t nq = terms.size();
    TopK top(std::min<std::size_t>(k, live_count_ == 0 ? 1 : live_count_));
    constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();

    struct Cursor {
        const std::uint32_t* docs;
        const std::uint32_t* tfs;
        std::size_t pos;
        std::size_t len;
        std::size_t query_index;
        float weight;
        double upper_bound;
        std::uint32_t doc() const { return pos < len ? docs[pos] : kEnd; }
        void advance(std::uint32_t target) {  // first posting >= target: galloping, then binary search
            if (pos >= len || docs[pos] >= target) return;
            std::size_t step = 1;
            std::size_t lo = pos;
            std::size_t hi = pos + 1;
            while (hi < len && docs[hi] < target) {
                lo = hi;
                step <<= 1;
                hi = pos + step;
            }
            if (hi > len) hi = len;
            pos = static_cast<std::size_t>(std::lower_bound(docs + lo, docs + hi, target) - docs);
        }
    };
    std::vector<Cursor> cursors;
    std::vector<float> contrib(nq, 0.0f);
    std::vector<double> prefix;

    for (std::uint32_t seg = 0; seg < segments_.size(); ++seg) {
        const InvertedIndex& ix = *segments_[seg].index;
        const LiveDocs* live = segments_[seg].live_docs.get();
        cursors.clear();
        for (std::size_t q = 0; q < nq; ++q) {
            const std::int64_t t = ix.term_id(terms[q].term);
            if (t < 0) continue;
            const auto ib = ix.impact_offsets_[t];
            const auto ie = ix.impact_offsets_[t + 1];
            const float x = max_tf_norm({ix.impact_tfs_.data() + ib, ie - ib}, {ix.impact_norms_.data() + ib, ie - ib}, sim);
            const auto begin = ix.term_offsets_[t];
            cursors.push_back({ix.post_docs_.data() + begin, ix.post_tfs_.data() + begin, 0,
                               ix.term_offsets_[t + 1] - begin, q, terms[q].weight,
                               padded(Bm25Similarity::score(terms[q].weight, 1.0f, x))});
        }
        if (cursors.empty()) continue;
        std::sort(cursors.begin(), cursors.end(),
                  [](const Cursor& a, const Cursor& b) { return a.upper_bound < b.upper_bound; });
        const std::size_t n = cursors.size();
        prefix.resize(n);  // prefix[i] = sum of the bounds of cursors 0..i
        double acc = 0;
        for (std::size_t i = 0; i < n; ++i) prefix[i] = acc += cursors[i].upper_bound;
        double threshold = top.threshold();
        std::size_t first_essential = 0;
        while (first_essential < n && prefix[first_essential] < threshold) ++first_essential;

        while (first_essential < n) {
            std::uint32_t doc = kEnd;
            for (std::size_t i = first_essential; i < n; ++i) doc = std::min(doc, cursors[i].doc());
            if (doc == kEnd) break;
            const float norm_inverse = sim.norm_inverse(ix.norms_[doc]);
            double partial = 0.0;
            for (std::size_t i = first_essential; i < n; ++i) {
                Cursor& c = cursors[i];
                if (c.pos < c.len && c.docs[c.pos] == doc) {
                    const float s = Bm25Similarity::score(c.weight, static_cast<float>(c.tfs[c.pos]), norm_inverse);
                    contrib[c.query_index] = s;
                    partial += s;
                    ++c.pos;
                }
            }
            if (live != nullptr && !live->is_live(doc)) {
                std::fill(contrib.begin(), contrib.end(), 0.0f);
                continue;
            }
            bool pruned = false;
            for (std::size_t i = first_essential; i-- > 0;) {
                if (partial + prefix[i] < threshold) {
                    pruned = true;
                    break;
                }
                Cursor& c = cursors[i];
                c.advance(doc);
                if (c.pos < c.len && c.docs[c.pos] == doc) {
                    const float s = Bm25Similarity::score(c.weight, static_cast<float>(c.tfs[c.pos]), norm_inverse);
                    contrib[c.query_index] = s;
                    partial += s;
                }
            }
            if (!pruned) {
                double score = 0.0;  // query-term order, whatever order the cursors were visited in
                for (const float s : contrib) score += s;
                top.offer({static_cast<float>(score), ix.chunk_ids_[doc], seg, doc});
                if (top.full() && top.threshold() > threshold) {
                    threshold = top.threshold();
                    while (first_essential < n && prefix[first_essential] < threshold) ++first_essential;
                }
            }
            std::fill(contrib.begin(), contrib.end(), 0.0f);
        }
    }
    return top.drain();
}

std::vector<LexicalHit> SegmentSearcher::search_exhaustive(const Bm25Query& query, std::size_t k,
                                                           const Bm25Params& params) const {
    if (k == 0 || segments_.empty()) return {};
    const Bm25Similarity sim = similarity(params);
    const auto terms = weigh(query, *this, sim);
    std::vector<HeapEntry> all;
    for (std::uint32_t seg = 0; seg < segments_.size(); ++seg) {
        const InvertedIndex& ix = *segments_[seg].index;
        const LiveDocs* live = segments_[seg].live_docs.get();
        std::vector<double> acc(ix.doc_count(), 0.0);
        std::vector<char> hit(ix.doc_count(), 0);
        for (const auto& t : terms) {
            const std::int64_t id = ix.term_id(t.term);
            if (id < 0) continue;
            for (auto i = ix.term_offsets_[id]; i < ix.term_offsets_[id + 1]; ++i) {
                const std::uint32_t d = ix.post_docs_[i];
                acc[d] += Bm25Similarity::score(t.weight, static_cast<float>(ix.post_tfs_[i]),
                                                sim.norm_inverse(ix.norms_[d]));
                hit[d] = 1;
            }
        }
        for (std::uint32_t d = 0; d < acc.size(); ++d) {
            if (hit[d] && (live == nullptr || live->is_live(d))) {
                all.push_back({static_cast<float>(acc[d]), ix.chunk_ids_[d], seg, d});
            }
        }
    }
    std::sort(all.begin(), all.end(), better);
    if (all.size() > k) all.resize(k);
    std::vector<LexicalHit> out;
    for (const auto& e : all) out.push_back({e.chunk_id, e.doc, e.segment, e.score});
    return out;
}

std::optional<SegmentSearcher::Location> SegmentSearcher::locate(std::int64_t chunk_id) const {
    for (std::size_t i = segments_.size(); i-- > 0;) {
        const auto doc = segments_[i].index->doc_of_chunk(chunk_id);
        if (doc && (segments_[i].live_docs == nullptr || segments_[i].live_docs->is_live(*doc))) {
            return Location{static_cast<std::uint32_t>(i), *doc};
        }
    }
    return std::nullopt;
}

std::optional<Explanation> SegmentSearcher::explain(std::string_view query_text, std::int64_t chunk_id,
                                                    const Bm25Params& params) const {
    const auto where = locate(chunk_id);
    if (!where) return std::nullopt;
    const InvertedIndex& ix = *segments_[where->segment].index;
    const std::uint32_t doc = where->doc;
    const Bm25Similarity sim = similarity(params);
    const Bm25Query query = parse(query_text);
    Explanation e;
    e.chunk_id = chunk_id;
    e.params = params;
    double total = 0.0;
    for (const auto& qt : query.terms) {
        TermExplanation te;
        te.term = qt.term;
        te.boost = qt.boost;
        te.doc_freq = doc_freq(qt.term);
        te.doc_count = doc_count_;
        te.idf = sim.idf(te.doc_freq);
        te.doc_length = ix.doc_length(doc);
        te.encoded_length = byte4_to_int(ix.norm(doc));
        te.avgdl = sim.avgdl();
        te.tf = ix.term_freq(ix.term_id(qt.term), doc);
        if (te.tf > 0) {
            te.score = Bm25Similarity::score(qt.boost * te.idf, static_cast<float>(te.tf), sim.norm_inverse(ix.norm(doc)));
            total += te.score;
        }
        e.terms.push_back(std::move(te));
    }
    e.score = static_cast<float>(total);
    return e;
}

}  // namespace winnow::lexical
