#include "lexical/segment_searcher.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>

#include "winnow/error.h"

namespace winnow::lexical {
namespace {

struct HeapEntry {
    float score;
    std::uint32_t segment;
    std::uint32_t doc;
};

// The order of hits: higher score first, then lower chunk id (Lucene keeps the lower doc on ties).
// Within a segment whose chunk ids ascend with its documents (one built or merged in chunk order,
// the usual case) the lower document is the lower chunk id, so the chunk-id array (8 bytes per
// document, rarely in cache: reading it was a tenth of a search's time) is read only for ties
// across segments or within a segment out of order.
class HitOrder {
public:
    explicit HitOrder(const std::vector<Segment>& segments) : segments_(&segments) {}
    std::int64_t chunk_id(const HeapEntry& e) const { return (*segments_)[e.segment].index->chunk_id(e.doc); }
    bool better(const HeapEntry& a, const HeapEntry& b) const {
        if (a.score != b.score) return a.score > b.score;
        if (a.segment == b.segment && (*segments_)[a.segment].index->chunk_ids_ascending()) return a.doc < b.doc;
        return chunk_id(a) < chunk_id(b);
    }
    // better() as a comparator: sorts best first; as a heap order, keeps the worst entry on top.
    auto comparator() const {
        return [this](const HeapEntry& a, const HeapEntry& b) { return better(a, b); };
    }

private:
    const std::vector<Segment>* segments_;
};

class TopK {
public:
    TopK(std::size_t k, const HitOrder& order) : k_(k), order_(order) {}
    std::size_t k() const { return k_; }
    bool full() const { return heap_.size() == k_; }
    // The score a document must beat (or equal with a lower chunk id) to enter; -1 while not full.
    double threshold() const { return full() ? heap_.front().score : -1.0; }
    void offer(const HeapEntry& e) {
        if (heap_.size() < k_) {
            heap_.push_back(e);
            std::push_heap(heap_.begin(), heap_.end(), order_.comparator());
        } else if (order_.better(e, heap_.front())) {
            replace_worst(e);
        }
    }
    std::vector<LexicalHit> drain() {
        std::sort(heap_.begin(), heap_.end(), order_.comparator());
        std::vector<LexicalHit> out;
        out.reserve(heap_.size());
        for (const auto& e : heap_) out.push_back({order_.chunk_id(e), e.doc, e.segment, e.score});
        return out;
    }

private:
    // `e` takes the worst entry's place at the top and sinks below every child it beats: one walk
    // down, where pop_heap then push_heap walk down to a leaf and back up (at k = 1000 the heap
    // was a tenth of a search).
    void replace_worst(const HeapEntry& e) {
        const std::size_t n = heap_.size();
        std::size_t i = 0;
        for (;;) {
            std::size_t c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n) {  // the worse child; scores rarely tie, so a compare picks it without a branch
                const float s0 = heap_[c].score;
                const float s1 = heap_[c + 1].score;
                if (s0 != s1) {
                    c += s0 > s1 ? 1 : 0;
                } else if (order_.better(heap_[c], heap_[c + 1])) {
                    ++c;
                }
            }
            if (e.score < heap_[c].score || (e.score == heap_[c].score && !order_.better(e, heap_[c]))) break;
            heap_[i] = heap_[c];
            i = c;
        }
        heap_[i] = e;
    }

    std::size_t k_;
    const HitOrder& order_;
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

// A term's score at tf 1 for each norm (most postings): the same float computation, looked up.
void fill_tf1_scores(float weight, const Bm25Similarity& sim, float* out) {
    for (int nm = 0; nm < 256; ++nm) {
        out[nm] = Bm25Similarity::score(weight, 1.0f, sim.norm_inverse(static_cast<std::uint8_t>(nm)));
    }
}

// A seek in a posting list (PostingCursor::advance) costs about this many postings read in order.
constexpr double kSeekCost = 4.0;

// Upper bounds are padded so float rounding in a sum can never prune a true top-k document.
double padded(float bound) { return static_cast<double>(bound) * (1.0 + 1e-6) + 1e-9; }
// As much below a score as the rounding of a sum of float scores (in another order) can reach.
double padding(double score) { return std::abs(score) * 1e-5 + 1e-9; }


// The block path (doc_blocks.h), for one segment of a snapshot:
//  1. every query term adds its bound to each of its blocks (one float per block: a table lookup
//     of the block's key, the term's weight and the snapshot's statistics);
//  2. per group of 64 blocks, the largest bound (so that collecting the blocks above a bound reads
//     only the groups that hold one);
//  3. blocks are scored in rounds of growing size, the first best bound first (for many results,
//     the first is instead the band of the best bounds, term at a time), until no block left can
//     reach the k-th score (see the rounds below).
// Scoring a block reads its documents' (term, tf) pairs, keeps the query terms' (a byte per
// segment term says which query term it is), and sums each document's terms in query-term order,
// as every other path does, so the scores are the same to the bit. A round of many blocks is
// scored term at a time instead (score_by_terms), with the same sums in the same order.
class BlockSearch {
public:
    static constexpr int kBuckets = 1024;
    static constexpr std::uint32_t kGroup = 64;  // blocks per group (bound maxima)
    // A later round goes term at a time when its blocks' pairs (each block a cache miss on a large
    // segment) cost more than the query terms' entries (read in order) and the candidates' upkeep:
    // ns per pair, per entry and per candidate block, measured on the 10M topical corpus.
    static constexpr double kPairCost = 2.3;
    static constexpr double kEntryCost = 2.5;
    static constexpr double kCandidateCost = 15.0;
    static constexpr std::uint32_t kWindowBlocks = 16384;  // score_by_terms: blocks per window
    // The band (a first round for many results): the best bounds' blocks, this many documents'
    // worth per result asked for (measured on the topical corpus, 1M chunks, top-1000: 32 / 48 /
    // 64 gave 1.39-1.77 / 1.32-1.62 / 1.67-1.70 ms p50).
    static constexpr double kBandDocsPerK = 48.0;

    BlockSearch(std::uint32_t segment, const InvertedIndex& ix, const LiveDocs* live,
                const std::vector<WeightedTerm>& weighted, const Bm25Similarity& sim, TopK& top)
        : segment_(segment), ix_(ix), blocks_(ix.doc_blocks()), live_(live), sim_(sim), top_(top) {
        scratch_.slot.resize(std::max(scratch_.slot.size(), ix.term_count()), 0);
        for (std::size_t q = 0; q < weighted.size(); ++q) {
            weights_[q] = weighted[q].weight;
            const std::int64_t id = ix.term_id(weighted[q].term);
            if (id < 0) continue;
            terms_.push_back(static_cast<std::uint32_t>(id));
            scratch_.slot[static_cast<std::size_t>(id)] = static_cast<std::uint8_t>(q + 1);
        }
    }
    ~BlockSearch() {  // the slots go back to zero (an exception included)
        for (const std::uint32_t t : terms_) scratch_.slot[t] = 0;
    }
    BlockSearch(const BlockSearch&) = delete;
    BlockSearch& operator=(const BlockSearch&) = delete;

    void run(Pruning pruning) {
        if (terms_.empty()) return;
        const std::uint32_t nb = blocks_.block_count();
        std::vector<float>& bound = scratch_.bound;
        bound.assign(nb, 0.0f);
        double total = 0.0;
        float table[256];
        for (const std::uint32_t t : terms_) {
            const float weight = weights_[scratch_.slot[t] - 1];
            for (int key = 0; key < 256; ++key) {
                const auto k8 = static_cast<std::uint8_t>(key);
                const std::uint32_t tf = DocBlocks::key_tf(k8);
                const float b = tf == 0 ? weight
                                        : Bm25Similarity::score(weight, static_cast<float>(tf),
                                                                sim_.norm_inverse(blocks_.key_norm(k8)));
                table[key] = static_cast<float>(padded(b));
            }
            total += padded(weight);
            const std::uint32_t* entries = blocks_.entries();
            const std::uint8_t* keys = blocks_.entry_keys();
            float* out = bound.data();
            const std::uint64_t begin = blocks_.entries_begin(t), end = blocks_.entries_end(t);
            for (std::uint64_t e = begin; e < end; ++e) out[DocBlocks::entry_block(entries[e])] += table[keys[e]];
            entries_ += end - begin;
        }
        // Per group of 64 blocks, the largest bound (as bits: bounds are >= 0, so their bit patterns
        // order as their values, and the maximum vectorizes).
        const std::uint32_t ng = (nb + kGroup - 1) / kGroup;
        std::vector<std::uint32_t>& group_max = scratch_.group_max;
        group_max.resize(ng);
        for (std::uint32_t g = 0; g < ng; ++g) {
            std::uint32_t m = 0;
            for (std::uint32_t i = g * kGroup, end = std::min(nb, i + kGroup); i < end; ++i) {
                m = std::max(m, std::bit_cast<std::uint32_t>(bound[i]));
            }
            group_max[g] = m;
        }
        // The groups' maxima bucketed over [0, total] (the rounds' cuts below).
        const double scale = (kBuckets - 1) / total;
        std::array<std::uint32_t, kBuckets> hist{};
        for (const std::uint32_t m : group_max) {
            ++hist[std::min(kBuckets - 1, static_cast<int>(std::bit_cast<float>(m) * scale))];
        }
        // Rounds: each scores the blocks of bound in [cut, upper), where the cut is the highest edge
        // of the histogram reached by 4x more groups than the last round's (the first: about 4k
        // documents' worth), and never above the k-th score's limit once known. The first round
        // goes best bound first and stops at its first block below the limit; the later ones
        // (their limit already close to the final one) go in block order, which reads the blocks'
        // words in address order, and skip the blocks below the limit. The search ends when the
        // limit reaches the round's cut: every block left lies below it. A later round whose
        // blocks' pairs cost more to read (each block a cache miss) than the query terms' entries
        // (read in order) instead scores every block left at or above the limit term at a time
        // (score_by_terms), and ends the search. Bounds are compared as bits (>= 0: their bit
        // patterns order as their values), so the rounds' ranges never overlap.
        // (A forced second round, Pruning::doc_blocks_blockwise or _termwise, makes the first round
        // a single group's, so that even a small segment has later rounds: tests.)
        const bool forced = pruning == Pruning::doc_blocks_blockwise || pruning == Pruning::doc_blocks_termwise ||
                            pruning == Pruning::doc_blocks_banded;
        std::size_t target = forced ? 1 : std::max<std::size_t>(32, 4 * top_.k() / DocBlocks::kBlockDocs);
        std::size_t reached = 0;
        int x = kBuckets;
        std::uint32_t upper_bits = 0xffffffffU;
        std::vector<Candidate>& order = scratch_.order;
        auto collect = [&](std::uint32_t cut_bits) {
            order.clear();
            const float* bounds = bound.data();
            const std::uint32_t* maxima = group_max.data();
            for (std::uint32_t g = 0; g < ng; ++g) {
                if (maxima[g] < cut_bits) continue;
                for (std::uint32_t i = g * kGroup, end = std::min(nb, i + kGroup); i < end; ++i) {
                    const auto u = std::bit_cast<std::uint32_t>(bounds[i]);
                    if (u >= cut_bits && u < upper_bits) order.push_back({u, i});
                }
            }
        };
        const double pair_cost = blocks_.words_per_block() * kPairCost;
        const double term_cost = static_cast<double>(entries_) * kEntryCost;
        bool first = true;
        // Many results: the first round is a band of the kBandDocsPerK * k best bounds' documents,
        // scored term at a time, when that costs less than block at a time. Its k-th score is then
        // close to the final one, and the later rounds hold the few blocks between the two (a
        // first round of 4k documents best first left a k-th score near 40% of the final one at
        // top-1000, and the next round then held a third of the segment's blocks).
        const double band_blocks = kBandDocsPerK * static_cast<double>(top_.k()) / DocBlocks::kBlockDocs;
        const bool banded = pruning == Pruning::doc_blocks_banded ||
                            (!forced && band_blocks < nb / 2.0 &&
                             band_blocks * pair_cost > term_cost + band_blocks * kCandidateCost);
        if (banded) {
            // The band's cut: a histogram of every block's bound (a forced band: one group's worth).
            const double band_target = pruning == Pruning::doc_blocks_banded ? kGroup : band_blocks;
            std::array<std::uint32_t, kBuckets> block_hist{};
            for (std::uint32_t i = 0; i < nb; ++i) {
                ++block_hist[std::min(kBuckets - 1, static_cast<int>(bound[i] * scale))];
            }
            int bx = kBuckets;
            double got = 0;
            while (bx > 0 && got < band_target) got += block_hist[--bx];
            const std::uint32_t band_bits = bits_below(static_cast<double>(bx) / scale);
            collect(band_bits);
            score_by_terms(order);
            if (limit() >= static_cast<double>(std::bit_cast<float>(band_bits)) || band_bits == 1U) return;
            // The later rounds go on below the band: the groups reaching its cut count as reached.
            upper_bits = band_bits;
            while (x > bx) reached += hist[--x];
            target = 4 * std::max(target, reached);
            first = false;
        }
        for (;; first = false) {
            while (x > 0 && reached < target) reached += hist[--x];
            const std::uint32_t cut_bits = bits_below(std::max(static_cast<double>(x) / scale, limit()));
            collect(cut_bits);
            if (first) {
                std::sort(order.begin(), order.end(), [](const Candidate& a, const Candidate& b) {
                    return a.bound_bits != b.bound_bits ? a.bound_bits > b.bound_bits : a.block < b.block;
                });
            } else if (pruning != Pruning::doc_blocks_blockwise && pruning != Pruning::doc_blocks_banded) {
                // Term at a time would score every block left at or above the limit: the round's
                // blocks, and more when its cut lies above the limit.
                const double round_blocks = static_cast<double>(order.size());
                auto termwise_pays = [&](double candidates) {
                    return pruning == Pruning::doc_blocks_termwise ||
                           round_blocks * pair_cost > term_cost + candidates * kCandidateCost;
                };
                bool termwise = termwise_pays(round_blocks);
                const std::uint32_t low_bits = bits_below(limit());
                if (termwise && low_bits < cut_bits) {
                    collect(low_bits);
                    termwise = termwise_pays(static_cast<double>(order.size()));
                    if (!termwise) {  // back to the round's blocks, still in block order
                        std::erase_if(order, [&](const Candidate& c) { return c.bound_bits < cut_bits; });
                    }
                }
                if (termwise) {
                    score_by_terms(order);
                    return;
                }
            }
            score_blocks(first);
            if (limit() >= static_cast<double>(std::bit_cast<float>(cut_bits)) || cut_bits == 1U) return;
            upper_bits = cut_bits;
            target *= 4;
        }
    }

private:
    struct Candidate {
        std::uint32_t bound_bits;  // the block's bound (>= 0: its bits order as its value)
        std::uint32_t block;
    };
    struct TermCursor {
        std::uint64_t entry = 0, end = 0;
        const std::uint8_t* tf = nullptr;
    };
    struct Scratch {
        std::vector<float> bound;          // per block of the segment
        std::vector<std::uint8_t> slot;    // per term of the segment: its query index + 1, or 0
        std::vector<std::uint32_t> group_max;  // per group of kGroup blocks: the largest bound's bits
        std::vector<Candidate> order;          // the blocks of a round
        std::vector<std::uint32_t> hits;   // a block's pairs of query terms
        // score_by_terms: a bit per block (is it a candidate), each candidate's slot in its window,
        // and per candidate of a window its documents' score sums, norms (a byte each) and the
        // documents a term was summed for.
        std::vector<std::uint64_t> is_candidate;
        std::vector<std::uint32_t> slot_of;
        std::vector<double> sums;
        std::vector<std::uint64_t> norms;
        std::vector<std::uint8_t> held;
        std::vector<float> tf1;               // per query term, 256 scores
        std::vector<TermCursor> cursors;      // per query term
        std::vector<std::uint32_t> window_hits;  // a term's entries of candidates in a window
    };

    // The least bound a block needs to be scored (its documents may tie the k-th score).
    double limit() const {
        const double th = top_.threshold();
        return th < 0 ? 0.0 : th - padding(th);
    }
    // The bits of the largest float <= x (no block at or above x is missed), at least 1 (a bound
    // of 0 bits is a block without a query term).
    static std::uint32_t bits_below(double x) {
        float f = static_cast<float>(x);
        if (static_cast<double>(f) > x) f = std::nextafter(f, 0.0f);
        return std::max(std::bit_cast<std::uint32_t>(f), 1U);
    }

    // Scores the blocks in `order` in its order (round 1: best bound first, stopping at the first
    // below the limit; round 2: block order, skipping those below it).
    void score_blocks(bool first) {
        const std::vector<Candidate>& order = scratch_.order;
        // Blocks lie far apart: their offsets are prefetched 16 blocks ahead, their words 8.
        constexpr std::size_t kAhead = 8;
        const std::uint32_t* words = blocks_.words();
        const std::uint64_t* offsets = blocks_.block_offsets();
        const std::size_t n = order.size();
        for (std::size_t i = 0; i < std::min(2 * kAhead, n); ++i) __builtin_prefetch(offsets + order[i].block);
        for (std::size_t i = 0; i < std::min(kAhead, n); ++i) __builtin_prefetch(words + offsets[order[i].block]);
        for (std::size_t i = 0; i < n; ++i) {
            if (i + 2 * kAhead < n) __builtin_prefetch(offsets + order[i + 2 * kAhead].block);
            if (i + kAhead < n) __builtin_prefetch(words + offsets[order[i + kAhead].block]);
            if (static_cast<double>(std::bit_cast<float>(order[i].bound_bits)) < limit()) {
                if (first) break;
                continue;
            }
            score_block(order[i].block, words + offsets[order[i].block]);
        }
    }

    // Scores the blocks in `order` (block order) term at a time, window by window of
    // kWindowBlocks blocks: each query term, in query-term order, walks its entries in the window
    // (a bit per block says which are candidates; a window drops the candidates the last one's
    // k-th score left behind) and adds its score to the documents of the candidate blocks it
    // holds. Each document's terms are summed in query-term order, as score_block does, so the
    // scores are the same to the bit; a window's documents are offered once every term is summed.
    [[gnu::noinline]] void score_by_terms(const std::vector<Candidate>& order) {
        const std::size_t n = order.size();
        constexpr std::uint32_t kDocs = DocBlocks::kBlockDocs;
        std::vector<std::uint64_t>& is_candidate = scratch_.is_candidate;
        std::vector<std::uint32_t>& slot_of = scratch_.slot_of;
        std::vector<double>& sums = scratch_.sums;
        std::vector<std::uint64_t>& norms = scratch_.norms;
        std::vector<std::uint8_t>& held = scratch_.held;
        const std::uint32_t nb = blocks_.block_count();
        is_candidate.assign((nb + 63) / 64, 0);
        if (slot_of.size() < nb) slot_of.resize(nb);
        // Per candidate of a window (at most kWindowBlocks: distinct blocks of the window), so a
        // thread's buffers stay within 1.2 MiB whatever the candidates' count.
        const std::size_t per_window = std::min<std::size_t>(n, kWindowBlocks);
        if (sums.size() < per_window * kDocs) sums.resize(per_window * kDocs);  // a first term assigns
        norms.resize(per_window);
        held.resize(per_window);
        const std::span<const std::uint8_t> doc_norms = ix_.norms();
        // Per query term: its score at tf 1 per norm (most postings; the same computation, looked
        // up), and where it is in its entries and tfs.
        const std::size_t nt = terms_.size();
        std::vector<float>& tf1 = scratch_.tf1;
        tf1.resize(nt * 256);
        std::vector<TermCursor>& cursors = scratch_.cursors;
        cursors.resize(nt);
        for (std::size_t j = 0; j < nt; ++j) {
            const std::uint32_t t = terms_[j];
            const float weight = weights_[scratch_.slot[t] - 1];
            fill_tf1_scores(weight, sim_, tf1.data() + j * 256);
            cursors[j] = {blocks_.entries_begin(t), blocks_.entries_end(t), blocks_.tfs() + blocks_.tfs_begin(t)};
        }
        const std::uint32_t* entries = blocks_.entries();
        const std::uint64_t* candidate_words = is_candidate.data();
        std::vector<std::uint32_t>& window_hits = scratch_.window_hits;
        // A term has one entry per block: at most kWindowBlocks of a window's candidates, and the
        // listing writes one pair past the last found.
        window_hits.resize(2 * (kWindowBlocks + 1));
        // Window by window of kWindowBlocks blocks from a candidate on, so that the candidates'
        // sums, norms and slots stay in cache while every term adds to them.
        for (std::size_t c0 = 0; c0 < n;) {
            const std::uint32_t window_end = std::min(nb, order[c0].block + kWindowBlocks);
            std::size_t c1 = c0;
            // The window's candidates still at or above the limit (it rose with the last window's).
            const double floor = limit();
            for (; c1 < n && order[c1].block < window_end; ++c1) {
                if (static_cast<double>(std::bit_cast<float>(order[c1].bound_bits)) < floor) continue;
                const std::uint32_t b = order[c1].block;
                is_candidate[b / 64] |= 1ULL << (b % 64);
                slot_of[b] = static_cast<std::uint32_t>(c1 - c0);
                const std::size_t first_doc = std::size_t{b} * kDocs;
                std::uint64_t eight = 0;
                std::memcpy(&eight, doc_norms.data() + first_doc,
                            std::min<std::size_t>(kDocs, doc_norms.size() - first_doc));
                norms[c1 - c0] = eight;
            }
            std::fill_n(held.begin(), c1 - c0, std::uint8_t{0});
            for (std::size_t j = 0; j < nt; ++j) {  // in query-term order
                const std::uint32_t t = terms_[j];
                const float weight = weights_[scratch_.slot[t] - 1];
                const float* tf1_scores = tf1.data() + j * 256;
                TermCursor& cur = cursors[j];
                // The term's entries in the window: those of candidates listed without a branch
                // (most are not), as (entry, tf offset) pairs, then scored.
                const std::uint32_t* term_entries = entries + cur.entry;
                const std::uint64_t left = cur.end - cur.entry;
                std::uint32_t* found = window_hits.data();
                std::uint64_t e = 0, tf_offset = 0;
                std::size_t m = 0;
                for (; e < left; ++e) {
                    const std::uint32_t entry = term_entries[e];
                    const std::uint32_t b = DocBlocks::entry_block(entry);
                    if (b >= window_end) break;
                    found[2 * m] = entry;
                    found[2 * m + 1] = static_cast<std::uint32_t>(tf_offset);
                    m += candidate_words[b / 64] >> (b % 64) & 1;
                    tf_offset += static_cast<std::uint64_t>(std::popcount(DocBlocks::entry_mask(entry)));
                }
                for (std::size_t h = 0; h < m; ++h) {
                    const std::uint32_t entry = found[2 * h];
                    const std::uint32_t b = DocBlocks::entry_block(entry);
                    const std::uint32_t mask = DocBlocks::entry_mask(entry);
                    const std::uint32_t c = slot_of[b];
                    const std::uint32_t before = held[c];
                    held[c] = static_cast<std::uint8_t>(before | mask);
                    const std::uint64_t eight = norms[c];
                    const std::uint8_t* f = cur.tf + found[2 * h + 1];
                    for (std::uint32_t bits = mask; bits != 0; bits &= bits - 1) {
                        const auto i = static_cast<std::uint32_t>(std::countr_zero(bits));
                        const auto nm = static_cast<std::uint8_t>(eight >> (8 * i));
                        std::uint32_t freq = *f++;
                        float score = 0.0f;
                        if (freq == 1) {
                            score = tf1_scores[nm];
                        } else {
                            if (freq == DocBlocks::kTfSaturated) freq = ix_.term_freq(t, b * kDocs + i);
                            score = Bm25Similarity::score(weight, static_cast<float>(freq), sim_.norm_inverse(nm));
                        }
                        double& sum = sums[c * kDocs + i];
                        sum = ((before >> i & 1) != 0 ? sum : 0.0) + static_cast<double>(score);
                    }
                }
                cur.entry += e;
                cur.tf += tf_offset;
            }
            for (std::size_t c = c0; c < c1; ++c) {
                const std::uint32_t first_doc = order[c].block * kDocs;
                for (std::uint32_t m = held[c - c0]; m != 0; m &= m - 1) {
                    const auto i = static_cast<std::uint32_t>(std::countr_zero(m));
                    const std::uint32_t doc = first_doc + i;
                    if (live_ != nullptr && !live_->is_live(doc)) continue;
                    const auto score = static_cast<float>(sums[(c - c0) * kDocs + i]);
                    if (score >= top_.threshold()) top_.offer({score, segment_, doc});
                }
            }
            c0 = c1;
        }
    }
    // Out of line: profiles then tell scoring blocks from collecting them (no slower, measured).
    [[gnu::noinline]] void score_block(std::uint32_t blk, const std::uint32_t* words) {
        const std::uint32_t* pairs = words + DocBlocks::kHeaderWords;
        std::size_t n = 0;  // the block's pairs: the sum of its documents' counts
        for (std::uint32_t i = 0; i < DocBlocks::kBlockDocs; ++i) n += DocBlocks::pair_count(words, i);
        if (scratch_.hits.size() < n) scratch_.hits.resize(n);
        std::uint32_t* hits = scratch_.hits.data();
        const std::uint8_t* slot = scratch_.slot.data();
        std::size_t m = 0;
        for (std::size_t i = 0; i < n; ++i) {  // branch-free: most pairs are not query terms
            hits[m] = static_cast<std::uint32_t>(i);
            m += slot[pairs[i] >> 8] != 0 ? 1 : 0;
        }
        std::size_t h = 0;
        std::uint32_t end = 0;
        const std::uint32_t first_doc = blk * DocBlocks::kBlockDocs;
        for (std::uint32_t i = 0; i < DocBlocks::kBlockDocs && h < m; ++i) {
            end += DocBlocks::pair_count(words, i);
            if (hits[h] >= end) continue;
            const std::uint32_t doc = first_doc + i;
            if (live_ != nullptr && !live_->is_live(doc)) {
                while (h < m && hits[h] < end) ++h;
                continue;
            }
            const float norm_inverse = sim_.norm_inverse(DocBlocks::block_norm(words, i));
            std::uint64_t mask = 0;
            for (; h < m && hits[h] < end; ++h) {
                const std::uint32_t pair = pairs[hits[h]];
                const int q = slot[pair >> 8] - 1;
                std::uint32_t tf = pair & 0xff;
                if (tf == DocBlocks::kTfSaturated) tf = ix_.term_freq(pair >> 8, doc);
                parts_[q] = Bm25Similarity::score(weights_[q], static_cast<float>(tf), norm_inverse);
                mask |= 1ULL << q;
            }
            double sum = 0.0;
            for (; mask != 0; mask &= mask - 1) sum += parts_[std::countr_zero(mask)];
            const auto score = static_cast<float>(sum);
            if (score >= top_.threshold()) top_.offer({score, segment_, doc});
        }
    }

    static thread_local Scratch scratch_;
    std::uint32_t segment_;
    const InvertedIndex& ix_;
    const DocBlocks& blocks_;
    const LiveDocs* live_;
    const Bm25Similarity& sim_;
    TopK& top_;
    std::vector<std::uint32_t> terms_;  // the segment's ids of the query terms it holds
    std::uint64_t entries_ = 0;         // the query terms' entries in all
    float weights_[64] = {};            // per query index
    double parts_[64] = {};             // a document's term scores, per query index
};

thread_local BlockSearch::Scratch BlockSearch::scratch_;

// The block path applies to queries of at most 64 distinct terms (a document's terms are a 64-bit
// mask, a segment term maps to one query term) with positive finite weights (the bounds assume
// scores >= 0, and their sums must stay finite). Parsed queries are always distinct; a Bm25Query
// built by hand may repeat a term, which MaxScore scores twice, as exhaustive scoring does.
bool blocks_apply(const InvertedIndex& ix, const std::vector<WeightedTerm>& weighted) {
    if (ix.doc_blocks().empty() || weighted.size() > 64) return false;
    for (std::size_t i = 0; i < weighted.size(); ++i) {
        if (!(weighted[i].weight > 0.0f && weighted[i].weight < 1e30f)) return false;
        for (std::size_t j = 0; j < i; ++j) {
            if (weighted[j].term == weighted[i].term) return false;
        }
    }
    return true;
}

}  // namespace

std::string_view pruning_name(Pruning pruning) noexcept {
    switch (pruning) {
        case Pruning::automatic: return "automatic";
        case Pruning::max_score: return "max_score";
        case Pruning::doc_blocks: return "doc_blocks";
        case Pruning::doc_blocks_blockwise: return "doc_blocks_blockwise";
        case Pruning::doc_blocks_termwise: return "doc_blocks_termwise";
        case Pruning::doc_blocks_banded: return "doc_blocks_banded";
    }
    return "?";
}

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

// Block-max MaxScore, document at a time, per segment, one heap over all segments:
//  - terms are split by their whole-list upper bounds (MaxScore): a document that only holds
//    "non-essential" terms (whose bounds sum below the k-th score) cannot enter the top k, so
//    candidates come from the essential terms only;
//  - from the next candidate d, the window [d, e] ends where the first of the essential terms'
//    blocks holding d ends (or later, for at least 64 documents per essential term, up to 4096
//    documents); inside it every term's score is bounded by the largest maximum of its
//    blocks overlapping the window; when those sum below the k-th score the whole window is
//    skipped without decoding anything;
//  - inside a window the split is redone with the block bounds; the essential terms are read
//    term at a time into the window's buffers (frequencies, partial sums, documents hit); then
//    each non-essential term, largest bound first, drops in bulk the candidates whose partial
//    score plus the remaining bounds cannot reach the top k, and adds its score to the others
//    (reading its window term at a time, or seeking per candidate when few remain).
// Bounds are padded (see padded()) and compared strictly, so a document tying the k-th score
// is always scored (it may win on the lower chunk id).
std::vector<LexicalHit> SegmentSearcher::search(const Bm25Query& query, std::size_t k, const Bm25Params& params,
                                                Pruning pruning) const {
    using Cursor = InvertedIndex::PostingCursor;
    constexpr std::uint32_t kEnd = Cursor::kEnd;
    if (k == 0 || segments_.empty() || query.terms.empty() || live_count_ == 0) return {};
    const Bm25Similarity sim = similarity(params);
    const auto weighted = weigh(query, *this, sim);
    const std::size_t nq = weighted.size();
    const HitOrder hit_order(segments_);
    TopK top(std::min<std::uint64_t>(k, live_count_), hit_order);

    struct Term {
        Cursor cursor;
        std::size_t query_index = 0;
        float weight = 0.0f;
        double bound = 0.0;  // over the whole list (padded)
        std::uint64_t bound_block = ~0ULL;
        double block_bound = 0.0;  // of bound_block (padded)
        double density = 0.0;      // postings per document of the segment
        // The score at tf = 1 for each norm (most postings), filled on first use: the same
        // float computation, looked up instead of repeated.
        std::vector<float> tf1;
        const float* tf1_scores(const Bm25Similarity& sim) {
            if (tf1.empty()) {
                tf1.resize(256);
                fill_tf1_scores(weight, sim, tf1.data());
            }
            return tf1.data();
        }
    };
    std::vector<Term> terms;
    std::vector<double> prefix;         // prefix[i]: sum of the bounds of terms 0..i (ascending bounds)
    std::vector<std::size_t> order;     // window: terms by ascending block bound
    std::vector<double> window_prefix;  // window: prefix sums of the block bounds in `order`
    std::vector<double> window_bound;   // window: per term
    // The window's buffers: per term its frequencies, the partial sums, the documents hit and the
    // candidates still alive.
    // Kept per thread across queries (each window leaves them zeroed), so a query does not pay
    // for clearing them.
    // A window spans at most 4096 documents, fewer for queries of more than 64 terms so that the
    // frequency buffer stays within 1 MiB per thread.
    constexpr std::uint32_t kMaxWindow = 4096;
    // A document's row of frequencies is padded to a multiple of 8 (32 bytes), cleared by whole
    // vector stores.
    const std::size_t row = (nq + 7) / 8 * 8;
    const auto kWindow = static_cast<std::uint32_t>(
        std::clamp<std::size_t>((std::size_t{1} << 18) / row / 64 * 64, 64, kMaxWindow));
    thread_local std::vector<std::uint32_t> window_tfs;
    thread_local std::vector<double> window_partial(kMaxWindow, 0.0);
    thread_local std::vector<std::uint64_t> window_hit(kMaxWindow / 64, 0);
    thread_local std::vector<std::uint64_t> window_alive(kMaxWindow / 64, 0);
    if (window_tfs.size() < row * kWindow) window_tfs.resize(row * kWindow, 0);
    struct ClearOnThrow {  // an exception mid-window (allocation) must not leave them dirty
        int pending = std::uncaught_exceptions();
        ~ClearOnThrow() {
            if (std::uncaught_exceptions() > pending) {
                std::fill(window_tfs.begin(), window_tfs.end(), 0U);
                std::fill(window_partial.begin(), window_partial.end(), 0.0);
                std::fill(window_hit.begin(), window_hit.end(), 0ULL);
                std::fill(window_alive.begin(), window_alive.end(), 0ULL);
            }
        }
    } clear_on_throw;
    std::vector<int> slot_of_query(nq, -1);

    for (std::uint32_t seg = 0; seg < segments_.size(); ++seg) {
        const InvertedIndex& ix = *segments_[seg].index;
        const LiveDocs* live = segments_[seg].live_docs.get();
        if (live != nullptr && live->live_count() == 0) continue;
        const bool use_blocks = pruning != Pruning::max_score &&
                                (pruning != Pruning::automatic || k <= kDocBlocksMaxK ||
                                 k <= ix.doc_count() / kDocBlocksDocsPerK);
        if (use_blocks && blocks_apply(ix, weighted)) {
            BlockSearch(seg, ix, live, weighted, sim, top).run(pruning);
            continue;
        }
        const std::uint8_t* norms = ix.norms_.data();
        // The padded bound of a score over the impacts [i0, i1) of `ix`.
        auto bound_of = [&](float weight, std::uint64_t i0, std::uint64_t i1, bool term_level) {
            float x = 0.0f;
            for (std::uint64_t i = i0; i < i1; ++i) {
                const std::uint32_t tf = term_level ? ix.term_impact_tfs_[i] : ix.impact_tfs_[i];
                const std::uint8_t nm = term_level ? ix.term_impact_norms_[i] : ix.impact_norms_[i];
                x = std::max(x, static_cast<float>(tf) * sim.norm_inverse(nm));
            }
            return padded(Bm25Similarity::score(weight, 1.0f, x));
        };
        terms.clear();
        for (std::size_t q = 0; q < nq; ++q) {
            const std::int64_t t = ix.term_id(weighted[q].term);
            if (t < 0) continue;
            const auto id = static_cast<std::uint32_t>(t);
            Term term;
            term.cursor = ix.postings(id);
            term.query_index = q;
            term.weight = weighted[q].weight;
            term.bound = bound_of(term.weight, ix.term_impacts_[id], ix.term_impacts_[id + 1], true);
            term.density = static_cast<double>(ix.doc_freq(static_cast<std::int64_t>(id))) /
                           static_cast<double>(std::max<std::size_t>(ix.doc_count(), 1));
            terms.push_back(std::move(term));
        }
        if (terms.empty()) continue;
        std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) { return a.bound < b.bound; });
        const std::size_t n = terms.size();
        prefix.resize(n);
        double acc = 0;
        for (std::size_t i = 0; i < n; ++i) prefix[i] = acc += terms[i].bound;
        window_bound.resize(n);
        std::size_t first_essential = 0;

        while (true) {
            double threshold = top.threshold();
            while (first_essential < n && prefix[first_essential] < threshold) ++first_essential;
            if (first_essential == n) break;
            std::uint32_t d = kEnd;
            for (std::size_t i = first_essential; i < n; ++i) d = std::min(d, terms[i].cursor.doc());
            if (d == kEnd) break;
            // The window [d, e] ends with the first of the essential terms' blocks holding d; every
            // term's bound in it is the largest of its blocks that overlap it (none for an
            // exhausted term).
            std::uint32_t e = kEnd;
            for (std::size_t i = first_essential; i < n; ++i) {
                const std::uint64_t b = terms[i].cursor.shallow(d);
                if (b != terms[i].cursor.end_block()) e = std::min(e, terms[i].cursor.block_last_doc(b));
            }
            // At least 64 documents per essential term: dense essential terms end their blocks
            // every few hundred documents, and windows that short cost more in bounds and
            // bookkeeping than their tighter bounds save.
            const std::uint64_t min_end = static_cast<std::uint64_t>(d) + 64 * (n - first_essential);
            e = static_cast<std::uint32_t>(std::max<std::uint64_t>(e, std::min<std::uint64_t>(min_end, kEnd - 1)));
            e = static_cast<std::uint32_t>(std::min<std::uint64_t>(e, static_cast<std::uint64_t>(d) + kWindow - 1));
            WINNOW_ASSERT(e >= d && e != kEnd);
            double window_sum = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                Term& t = terms[i];
                double bound = 0.0;
                for (std::uint64_t b = t.cursor.shallow(d); b < t.cursor.end_block(); ++b) {
                    if (b != t.bound_block) {
                        t.bound_block = b;
                        t.block_bound = bound_of(t.weight, t.cursor.impacts_begin(b), t.cursor.impacts_end(b), false);
                    }
                    bound = std::max(bound, t.block_bound);
                    if (t.cursor.block_last_doc(b) >= e) break;
                }
                window_bound[i] = bound;
                window_sum += bound;
            }
            if (window_sum >= threshold) {
                order.resize(n);
                for (std::size_t i = 0; i < n; ++i) order[i] = i;
                std::sort(order.begin(), order.end(),
                          [&](std::size_t a, std::size_t b) { return window_bound[a] < window_bound[b]; });
                window_prefix.resize(n);
                double wacc = 0;
                for (std::size_t i = 0; i < n; ++i) window_prefix[i] = wacc += window_bound[order[i]];
                std::size_t wfe = 0;
                while (wfe < n && window_prefix[wfe] < threshold) ++wfe;
                // Every term of the segment has a column in the window's frequency buffer: its
                // position in `order`. Essential terms go first, term at a time, into the buffers:
                // their frequencies (for the exact score later) and a partial sum (for pruning).
                const std::uint32_t span = e - d + 1;
                const std::uint32_t words = (span + 63) / 64;
                std::fill(slot_of_query.begin(), slot_of_query.end(), -1);
                for (std::size_t i = 0; i < n; ++i) slot_of_query[terms[order[i]].query_index] = static_cast<int>(i);
                double* partial = window_partial.data();
                std::uint64_t* hit = window_hit.data();
                std::uint64_t* alive = window_alive.data();
                for (std::size_t i = wfe; i < n; ++i) {
                    Term& t = terms[order[i]];
                    // Document-major ([at][column]): a document's frequencies lie together.
                    std::uint32_t* tf_out = window_tfs.data() + i;
                    const float* tf1 = t.tf1_scores(sim);
                    const float weight = t.weight;
                    t.cursor.advance(d);
                    t.cursor.for_each_through(e, [&](std::uint32_t doc, std::uint32_t tf) {
                        const std::uint32_t at = doc - d;
                        tf_out[static_cast<std::size_t>(at) * row] = tf;
                        const std::uint8_t nm = norms[doc];
                        partial[at] +=
                            tf == 1 ? tf1[nm]
                                    : Bm25Similarity::score(weight, static_cast<float>(tf), sim.norm_inverse(nm));
                        hit[at >> 6] |= 1ULL << (at & 63);
                    });
                }
                // The candidates: documents hit and live.
                const std::uint64_t* live_words = live != nullptr ? live->words().data() : nullptr;
                std::uint32_t candidates = 0;
                for (std::uint32_t w = 0; w < words; ++w) {
                    std::uint64_t bits = hit[w];
                    if (live_words != nullptr && bits != 0) {
                        // The window's word w spans documents d + 64w .. d + 64w + 63 (two live words).
                        const std::uint32_t first = d + w * 64;
                        const unsigned shift = first & 63;
                        std::uint64_t lw = live_words[first >> 6] >> shift;
                        if (shift != 0 &&
                            (first >> 6) + 1 < (static_cast<std::uint64_t>(live->doc_count()) + 63) / 64) {
                            lw |= live_words[(first >> 6) + 1] << (64 - shift);
                        }
                        bits &= lw;
                    }
                    alive[w] = bits;
                    candidates += static_cast<std::uint32_t>(std::popcount(bits));
                }
                // Non-essential terms, largest bound first. Before each, the candidates that
                // cannot reach the k-th score even with it and every smaller term are dropped, in
                // bulk; the term's frequencies are then read for the remaining ones: term at a time
                // through the window when they are many (most of them lack the term, and a bit
                // test is cheaper than a seek), one seek per candidate when they are few.
                for (std::size_t i = wfe; i-- > 0 && candidates > 0;) {
                    const double needed = threshold - window_prefix[i];
                    candidates = 0;
                    for (std::uint32_t w = 0; w < words; ++w) {
                        std::uint64_t bits = alive[w];
                        std::uint64_t keep = bits;
                        while (bits != 0) {  // branch-free: the outcome is a coin toss
                            const auto bit = static_cast<std::uint32_t>(std::countr_zero(bits));
                            bits &= bits - 1;
                            keep &= ~(static_cast<std::uint64_t>(partial[w * 64 + bit] < needed) << bit);
                        }
                        alive[w] = keep;
                        candidates += static_cast<std::uint32_t>(std::popcount(keep));
                    }
                    if (candidates == 0) break;
                    Term& t = terms[order[i]];
                    std::uint32_t* tf_out = window_tfs.data() + i;
                    const float weight = t.weight;
                    auto add = [&](std::uint32_t doc, std::uint32_t tf) {
                        const std::uint32_t at = doc - d;
                        tf_out[static_cast<std::size_t>(at) * row] = tf;
                        partial[at] +=
                            Bm25Similarity::score(weight, static_cast<float>(tf), sim.norm_inverse(norms[doc]));
                    };
                    const double expected_postings = static_cast<double>(span) * t.density;
                    if (static_cast<double>(candidates) * kSeekCost < expected_postings) {
                        for (std::uint32_t w = 0; w < words; ++w) {
                            for (std::uint64_t bits = alive[w]; bits != 0; bits &= bits - 1) {
                                const std::uint32_t doc =
                                    d + w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
                                t.cursor.advance(doc);
                                if (t.cursor.doc() == doc) add(doc, t.cursor.tf());
                            }
                        }
                    } else {
                        t.cursor.advance(d);
                        t.cursor.for_each_through(e, [&](std::uint32_t doc, std::uint32_t tf) {
                            const std::uint32_t at = doc - d;
                            if ((alive[at >> 6] >> (at & 63)) & 1U) add(doc, tf);
                        });
                    }
                }
                double entry = threshold - padding(threshold);
                // The survivors hold every term's frequency: their exact scores, summed in
                // query-term order whatever order the terms were visited in. Every document hit
                // leaves its buffers zeroed for the next window.
                for (std::uint32_t w = 0; w < words; ++w) {
                    std::uint64_t survivors = candidates > 0 ? alive[w] : 0;
                    alive[w] = 0;
                    for (std::uint64_t bits = hit[w]; bits != 0; bits &= bits - 1) {
                        const std::uint32_t at = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
                        const std::uint32_t doc = d + at;
                        std::uint32_t* at_tfs = window_tfs.data() + static_cast<std::size_t>(at) * row;
                        const double sum = partial[at];
                        partial[at] = 0.0;
                        // The partial sum now holds every term: the exact score (summed in another
                        // order) is computed only when the sum comes within rounding of the top k.
                        if (((survivors >> (at & 63)) & 1U) != 0 && sum >= entry) {
                            const float norm_inverse = sim.norm_inverse(norms[doc]);
                            double score = 0.0;
                            for (std::size_t q = 0; q < nq; ++q) {
                                const int slot = slot_of_query[q];
                                if (slot < 0) continue;
                                const std::uint32_t tf = at_tfs[slot];
                                if (tf != 0) score += Bm25Similarity::score(weighted[q].weight, static_cast<float>(tf), norm_inverse);
                            }
                            const auto final_score = static_cast<float>(score);
                            if (final_score >= threshold) {
                                top.offer({final_score, seg, doc});
                                threshold = top.threshold();
                                entry = threshold - padding(threshold);
                            }
                        }
                        for (std::size_t c = 0; c < n; c += 8) std::memset(at_tfs + c, 0, 8 * sizeof(std::uint32_t));
                    }
                    hit[w] = 0;
                }
            }
            if (e == kEnd - 1) break;
            for (std::size_t i = first_essential; i < n; ++i) terms[i].cursor.advance(e + 1);
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
            for (auto c = ix.postings(static_cast<std::uint32_t>(id)); c.doc() != InvertedIndex::PostingCursor::kEnd;
                 c.next()) {
                const std::uint32_t d = c.doc();
                acc[d] += Bm25Similarity::score(t.weight, static_cast<float>(c.tf()), sim.norm_inverse(ix.norm(d)));
                hit[d] = 1;
            }
        }
        for (std::uint32_t d = 0; d < acc.size(); ++d) {
            if (hit[d] && (live == nullptr || live->is_live(d))) {
                all.push_back({static_cast<float>(acc[d]), seg, d});
            }
        }
    }
    const HitOrder order(segments_);
    std::sort(all.begin(), all.end(), order.comparator());
    if (all.size() > k) all.resize(k);
    std::vector<LexicalHit> out;
    for (const auto& e : all) out.push_back({order.chunk_id(e), e.doc, e.segment, e.score});
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
