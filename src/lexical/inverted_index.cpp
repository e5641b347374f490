#include "lexical/inverted_index.h"

#include <algorithm>
#include <array>
#include <bit>
#include <filesystem>
#include <limits>

#include "core/log.h"
#include "core/mmap_file.h"
#include "core/thread_pool.h"
#include "lexical/file_format.h"
#include "lexical/live_docs.h"
#include "lexical/postings.h"
#include "lexical/segment_searcher.h"
#include "store/document_store.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

// 06: the documents' blocks also hold each entry's documents (a mask) and each posting's tf.
// 05: the documents' blocks and their bounds (doc_blocks.h) stored after the postings.
// 04: every array stored as a column aligned to 64 bytes and used in place once mapped (the
// impacts and norms included, so loading derives nothing per posting); CRC-32 footer.
// 03 (older): impacts recomputed on load, FNV-1a footer. An older file is rebuilt.
constexpr std::string_view kMagic{"WNWLEX06", 8};

Analyzer& thread_analyzer(const std::string& spec) {
    thread_local std::unordered_map<std::string, std::unique_ptr<Analyzer>> analyzers;
    auto it = analyzers.find(spec);
    if (it == analyzers.end()) {
        it = analyzers.emplace(spec, std::make_unique<Analyzer>(parse_analyzer_spec(spec))).first;
    }
    return *it->second;
}

// The maximum tf per norm of a set of postings, reduced to the pairs no other pair dominates.
// The norms seen are kept as a 256-bit set, read in ascending order (no sort: a block of 128
// postings touches dozens of norms, and this runs for every block of every segment loaded).
class Frontier {
public:
    void add(std::uint32_t tf, std::uint8_t norm) {
        seen_[norm >> 6] |= 1ULL << (norm & 63);
        best_[norm] = std::max(best_[norm], tf);
    }
    // Appends the undominated pairs (ascending norm, so ascending tf) and resets.
    void take(std::vector<std::uint32_t>& tfs, std::vector<std::uint8_t>& norms) {
        std::uint32_t max_tf = 0;
        for (unsigned w = 0; w < 4; ++w) {
            for (std::uint64_t bits = seen_[w]; bits != 0; bits &= bits - 1) {
                const auto n = static_cast<std::uint8_t>(w * 64 + static_cast<unsigned>(std::countr_zero(bits)));
                if (best_[n] > max_tf) {
                    max_tf = best_[n];
                    tfs.push_back(best_[n]);
                    norms.push_back(n);
                }
                best_[n] = 0;
            }
            seen_[w] = 0;
        }
    }

private:
    std::array<std::uint32_t, 256> best_{};
    std::array<std::uint64_t, 4> seen_{};
};

}  // namespace

Bm25Query make_query(std::string_view text, Analyzer& analyzer) {
    Bm25Query q;
    analyzer.analyze(text, [&](std::string_view term) {
        for (auto& t : q.terms) {
            if (t.term == term) {
                t.boost += 1.0f;
                return;
            }
        }
        q.terms.push_back({std::string(term), 1.0f});
    });
    return q;
}

std::string Explanation::to_string() const {
    std::string out = fmt::format("{:.6g} = sum of:\n", score);
    for (const auto& t : terms) {
        if (t.tf == 0) {
            out += fmt::format("  0 = {} (absent; df={}, idf={:.6g})\n", t.term, t.doc_freq, t.idf);
            continue;
        }
        out += fmt::format("  {:.6g} = weight({}), computed as boost * idf * tf from:\n", t.score, t.term);
        out += fmt::format("    {:.6g} = boost\n", t.boost);
        out += fmt::format("    {:.6g} = idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:\n", t.idf);
        out += fmt::format("      {} = n, number of documents containing term\n", t.doc_freq);
        out += fmt::format("      {} = N, total number of documents with field\n", t.doc_count);
        const float norm = params.k1 * ((1 - params.b) + params.b * static_cast<float>(t.encoded_length) / t.avgdl);
        out += fmt::format("    {:.6g} = tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:\n",
                           static_cast<float>(t.tf) / (static_cast<float>(t.tf) + norm));
        out += fmt::format("      {} = freq, occurrences of term within document\n", t.tf);
        out += fmt::format("      {:.6g} = k1, term saturation parameter\n", params.k1);
        out += fmt::format("      {:.6g} = b, length normalization parameter\n", params.b);
        out += fmt::format("      {} = dl, length of field (approximate; exact {})\n", t.encoded_length, t.doc_length);
        out += fmt::format("      {:.6g} = avgdl, average length of field\n", t.avgdl);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Builder

InvertedIndex::Builder::Builder(AnalyzerOptions analyzer) : analyzer_(std::move(analyzer)) {}

void InvertedIndex::Builder::add(std::int64_t chunk_id, std::string_view text) {
    const auto doc = static_cast<std::uint32_t>(chunk_ids_.size());
    WINNOW_CHECK(chunk_ids_.size() < std::numeric_limits<std::uint32_t>::max() - 1, Errc::InvalidArgument,
                 "lexical segment: more than 2^32 - 2 documents");
    chunk_ids_.push_back(chunk_id);
    doc_terms_.clear();
    analyzer_.analyze(text, [&](std::string_view term) {
        auto it = dict_.find(std::string(term));
        std::uint32_t id;
        if (it == dict_.end()) {
            id = static_cast<std::uint32_t>(term_names_.size());
            dict_.emplace(std::string(term), id);
            term_names_.emplace_back(term);
            postings_.emplace_back();
        } else {
            id = it->second;
        }
        doc_terms_.push_back(id);
    });
    lengths_.push_back(static_cast<std::uint32_t>(doc_terms_.size()));
    std::sort(doc_terms_.begin(), doc_terms_.end());
    for (std::size_t i = 0; i < doc_terms_.size();) {
        std::size_t j = i;
        while (j < doc_terms_.size() && doc_terms_[j] == doc_terms_[i]) ++j;
        auto& p = postings_[doc_terms_[i]];
        p.push_back(doc);
        p.push_back(static_cast<std::uint32_t>(j - i));
        i = j;
    }
}

InvertedIndex InvertedIndex::Builder::finish(std::int64_t generation, std::string analyzer_spec) {
    InvertedIndex index;
    index.generation_ = generation;
    index.analyzer_spec_ = std::move(analyzer_spec);
    index.chunk_ids_ = std::move(chunk_ids_);
    index.lengths_ = std::move(lengths_);
    index.term_blocks_.reserve(postings_.size() + 1);
    index.term_blocks_.push_back(0);
    index.block_offset_.push_back(0);
    std::vector<std::uint32_t> docs;
    std::vector<std::uint32_t> tfs;
    for (auto& p : postings_) {
        docs.clear();
        tfs.clear();
        for (std::size_t i = 0; i < p.size(); i += 2) {
            docs.push_back(p[i]);
            tfs.push_back(p[i + 1]);
        }
        index.append_term(docs.data(), tfs.data(), docs.size());
        std::vector<std::uint32_t>().swap(p);
    }
    index.set_term_names(term_names_);
    term_names_.clear();
    postings_.clear();
    dict_.clear();
    chunk_ids_.clear();
    lengths_.clear();
    const bool ok = index.finalize();
    WINNOW_ASSERT(ok);
    return index;
}

// ---------------------------------------------------------------------------------------------
// InvertedIndex

InvertedIndex::InvertedIndex(InvertedIndex&& o) noexcept { *this = std::move(o); }

InvertedIndex& InvertedIndex::operator=(InvertedIndex&& o) noexcept {
    if (this == &o) return *this;
    generation_ = o.generation_;
    analyzer_spec_ = std::move(o.analyzer_spec_);
    chunk_ids_ = std::move(o.chunk_ids_);
    chunk_order_ = std::move(o.chunk_order_);
    lengths_ = std::move(o.lengths_);
    norms_ = std::move(o.norms_);
    term_name_ends_ = std::move(o.term_name_ends_);
    term_bytes_ = std::move(o.term_bytes_);  // moves the buffer (or the mapping): dict_'s views stay valid
    dict_ = std::move(o.dict_);
    term_df_ = std::move(o.term_df_);
    term_blocks_ = std::move(o.term_blocks_);
    block_last_ = std::move(o.block_last_);
    block_offset_ = std::move(o.block_offset_);
    words_ = std::move(o.words_);
    block_impacts_ = std::move(o.block_impacts_);
    term_impacts_ = std::move(o.term_impacts_);
    impact_tfs_ = std::move(o.impact_tfs_);
    impact_norms_ = std::move(o.impact_norms_);
    term_impact_tfs_ = std::move(o.term_impact_tfs_);
    term_impact_norms_ = std::move(o.term_impact_norms_);
    doc_blocks_ = std::move(o.doc_blocks_);
    posting_count_ = o.posting_count_;
    docs_with_terms_ = o.docs_with_terms_;
    sum_ttf_ = o.sum_ttf_;
    std::scoped_lock lock(sim_mutex_, o.sim_mutex_);
    sims_ = std::move(o.sims_);
    return *this;
}

InvertedIndex::~InvertedIndex() = default;

void InvertedIndex::append_term(const std::uint32_t* docs, const std::uint32_t* tfs, std::size_t n) {
    term_df_.push_back(static_cast<std::uint32_t>(n));
    std::uint32_t base = 0;
    std::vector<std::uint64_t> block;
    for (std::size_t i = 0; i < n; i += postings::kBlockSize) {
        const std::size_t m = std::min(postings::kBlockSize, n - i);
        block.clear();
        postings::encode_block(docs + i, tfs + i, m, base, block);
        words_.append(block.begin(), block.end());
        block_last_.push_back(docs[i + m - 1]);
        block_offset_.push_back(words_.size());
        base = docs[i + m - 1] + 1;
    }
    term_blocks_.push_back(block_last_.size());
}

// Checks the blocks of terms [t0, t1) (bit widths, sizes, documents in range and ascending) and,
// when `impacts` is given, collects their impacts and checks tf >= 1: per block, the maximum tf for
// each norm, then only the pairs that no pair of lower-or-equal norm matches (a norm byte never
// decreases with the length it encodes), appended to `impacts`.
bool InvertedIndex::check_terms(std::size_t t0, std::size_t t1, Impacts* impacts) const {
    const std::size_t n_blocks = block_last_.size();
    Frontier block_frontier;
    Frontier term_frontier;
    std::uint32_t docs[postings::kBlockSize];
    std::uint32_t tfs[postings::kBlockSize];
    for (std::size_t t = t0; t < t1; ++t) {
        const std::uint64_t b0 = term_blocks_[t];
        const std::uint64_t b1 = term_blocks_[t + 1];
        const std::uint64_t df = term_df_[t];
        if (b1 < b0 || b1 > n_blocks || df == 0 || (df + postings::kBlockSize - 1) / postings::kBlockSize != b1 - b0) {
            return false;
        }
        std::uint32_t base = 0;
        for (std::uint64_t b = b0; b < b1; ++b) {
            const std::size_t n = b + 1 < b1 ? postings::kBlockSize : df - (b1 - b0 - 1) * postings::kBlockSize;
            const std::uint64_t w0 = block_offset_[b];
            const std::uint64_t w1 = block_offset_[b + 1];
            if (w1 <= w0 || w1 > words_.size()) return false;
            const auto h = postings::header(words_.data() + w0);
            if (h.doc_bits > 32 || h.tf_bits > 32 || (words_[w0] >> 16) != 0 ||
                postings::block_words(n, h.doc_bits, h.tf_bits) != w1 - w0) {
                return false;
            }
            postings::decode_docs(words_.data() + w0, n, base, docs);
            std::uint64_t prev = base;  // 64-bit: a corrupt gap must not wrap around unnoticed
            for (std::size_t i = 0; i < n; ++i) {
                if (docs[i] < prev || docs[i] >= chunk_ids_.size()) return false;
                prev = static_cast<std::uint64_t>(docs[i]) + 1;
            }
            if (docs[n - 1] != block_last_[b]) return false;
            base = docs[n - 1] + 1;
            if (impacts == nullptr) continue;
            postings::decode_tfs(words_.data() + w0, n, tfs);
            for (std::size_t i = 0; i < n; ++i) {
                if (tfs[i] == 0) return false;
                block_frontier.add(tfs[i], norms_[docs[i]]);
            }
            const std::size_t first = impacts->impact_tfs.size();
            block_frontier.take(impacts->impact_tfs, impacts->impact_norms);
            impacts->block_ends.push_back(impacts->impact_tfs.size());
            for (std::size_t i = first; i < impacts->impact_tfs.size(); ++i) {
                term_frontier.add(impacts->impact_tfs[i], impacts->impact_norms[i]);
            }
        }
        if (impacts == nullptr) continue;
        term_frontier.take(impacts->term_tfs, impacts->term_norms);
        impacts->term_ends.push_back(impacts->term_tfs.size());
    }
    return true;
}

void InvertedIndex::set_term_names(const std::vector<std::string>& names) {
    std::vector<std::uint64_t> ends;
    std::vector<char> bytes;
    ends.reserve(names.size());
    for (const auto& t : names) {
        bytes.insert(bytes.end(), t.begin(), t.end());
        ends.push_back(bytes.size());
    }
    term_name_ends_ = std::move(ends);
    term_bytes_ = std::move(bytes);
}

bool InvertedIndex::derive_lookups() {
    docs_with_terms_ = 0;
    sum_ttf_ = 0;
    for (std::size_t i = 0; i < lengths_.size(); ++i) {
        if (lengths_[i] > 0) ++docs_with_terms_;
        sum_ttf_ += lengths_[i];
    }
    posting_count_ = 0;
    for (std::size_t t = 0; t < term_df_.size(); ++t) posting_count_ += term_df_[t];
    for (std::size_t i = 1; i < chunk_ids_.size(); ++i) {  // one document per chunk id in a segment
        const std::int64_t a = chunk_order_.empty() ? chunk_ids_[i - 1] : chunk_ids_[chunk_order_[i - 1]];
        const std::int64_t b = chunk_order_.empty() ? chunk_ids_[i] : chunk_ids_[chunk_order_[i]];
        if (a >= b) return false;
    }
    dict_.clear();
    dict_.reserve(term_count());
    for (std::uint32_t i = 0; i < term_count(); ++i) {
        if (!dict_.emplace(term(i), i).second) return false;
    }
    std::scoped_lock lock(sim_mutex_);
    sims_.clear();
    return true;
}

bool InvertedIndex::finalize() {
    norms_.resize(lengths_.size());
    std::uint8_t* norms = norms_.mutable_data();
    for (std::size_t i = 0; i < lengths_.size(); ++i) norms[i] = int_to_byte4(lengths_[i]);
    chunk_order_.clear();
    if (!std::is_sorted(chunk_ids_.begin(), chunk_ids_.end())) {
        std::vector<std::uint32_t> order(chunk_ids_.size());
        for (std::uint32_t d = 0; d < order.size(); ++d) order[d] = d;
        std::sort(order.begin(), order.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return chunk_ids_[a] < chunk_ids_[b]; });
        chunk_order_ = std::move(order);
    }
    if (!postings_shape_ok()) return false;
    // Check every block (bit widths, sizes, documents in range and ascending, tf >= 1) while
    // collecting impacts: per block, the maximum tf for each norm, then only the pairs that no pair
    // of lower-or-equal norm matches (a norm byte never decreases with the length it encodes).
    Impacts impacts;
    if (!check_terms(0, term_count(), &impacts)) return false;
    block_impacts_ = std::move(impacts.block_ends);
    term_impacts_ = std::move(impacts.term_ends);
    impact_tfs_ = std::move(impacts.impact_tfs);
    impact_norms_ = std::move(impacts.impact_norms);
    term_impact_tfs_ = std::move(impacts.term_tfs);
    term_impact_norms_ = std::move(impacts.term_norms);
    if (!derive_lookups()) return false;
    doc_blocks_ = DocBlocks::build(*this);
    return true;
}

bool InvertedIndex::postings_shape_ok() const {
    const std::size_t n_terms = term_name_ends_.size();
    const std::size_t n_blocks = block_last_.size();
    return term_df_.size() == n_terms && term_blocks_.size() == n_terms + 1 && term_blocks_.front() == 0 &&
           term_blocks_.back() == n_blocks && std::is_sorted(term_blocks_.begin(), term_blocks_.end()) &&
           block_offset_.size() == n_blocks + 1 && block_offset_.front() == 0 && block_offset_.back() == words_.size();
}

bool InvertedIndex::check_loaded(ThreadPool* pool) {
    const std::size_t n_docs = chunk_ids_.size();
    const std::size_t n_terms = term_name_ends_.size();
    const std::size_t n_blocks = block_last_.size();
    auto ascending = [](const auto& column) { return std::is_sorted(column.begin(), column.end()); };
    // Shapes: every offset column ascends and ends at its target's size, so no lookup through it
    // leaves its array; every document number is below the document count.
    if (!postings_shape_ok() || lengths_.size() != n_docs || norms_.size() != n_docs || n_docs >= 0xffffffffULL ||
        (!chunk_order_.empty() && chunk_order_.size() != n_docs) || !ascending(term_name_ends_) ||
        (n_terms > 0 && term_name_ends_.back() != term_bytes_.size()) || (n_terms == 0 && !term_bytes_.empty()) ||
        block_impacts_.size() != n_blocks + 1 ||
        block_impacts_.front() != 0 || block_impacts_.back() != impact_tfs_.size() || !ascending(block_impacts_) ||
        impact_norms_.size() != impact_tfs_.size() || term_impacts_.size() != n_terms + 1 ||
        term_impacts_.front() != 0 || term_impacts_.back() != term_impact_tfs_.size() || !ascending(term_impacts_) ||
        term_impact_norms_.size() != term_impact_tfs_.size()) {
        return false;
    }
    for (std::size_t d = 0; d < chunk_order_.size(); ++d) {
        if (chunk_order_[d] >= n_docs) return false;
    }
    // Every block's documents, over ranges of terms of about equal block counts on every core.
    const std::size_t n_parts = pool != nullptr && n_blocks >= 4096 ? pool->size() + 1 : 1;
    std::vector<std::size_t> first_term(n_parts + 1, n_terms);
    first_term[0] = 0;
    for (std::size_t p = 1; p < n_parts; ++p) {
        const std::uint64_t block = n_blocks * p / n_parts;
        first_term[p] = static_cast<std::size_t>(
            std::upper_bound(term_blocks_.begin(), term_blocks_.end() - 1, block) - term_blocks_.begin() - 1);
        first_term[p] = std::max(first_term[p], first_term[p - 1]);
    }
    std::vector<char> ok(n_parts, 0);
    auto check_part = [&](std::size_t p) { ok[p] = check_terms(first_term[p], first_term[p + 1], nullptr) ? 1 : 0; };
    if (n_parts == 1) {
        check_part(0);
    } else {
        pool->parallel_for(n_parts, [&](std::size_t begin, std::size_t end) {
            for (std::size_t p = begin; p < end; ++p) check_part(p);
        });
    }
    if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return false;
    return derive_lookups() && doc_blocks_.check(*this, pool);
}

std::size_t InvertedIndex::memory_bytes() const noexcept {
    auto bytes_of = [](const auto& v) { return v.size() * sizeof(v[0]); };
    std::size_t bytes = bytes_of(chunk_ids_) + bytes_of(chunk_order_) + bytes_of(lengths_) + bytes_of(norms_) +
                        bytes_of(term_name_ends_) + bytes_of(term_bytes_) +
                        bytes_of(term_df_) + bytes_of(term_blocks_) + bytes_of(block_last_) + bytes_of(block_offset_) +
                        bytes_of(words_) + bytes_of(block_impacts_) + bytes_of(term_impacts_) + bytes_of(impact_tfs_) +
                        bytes_of(impact_norms_) + bytes_of(term_impact_tfs_) + bytes_of(term_impact_norms_);
    bytes += doc_blocks_.memory_bytes();
    bytes += dict_.size() * (sizeof(std::string_view) + sizeof(std::uint32_t) + 2 * sizeof(void*));
    return bytes;
}

InvertedIndex InvertedIndex::build(const store::DocumentStore& store, std::string_view analyzer_spec) {
    Builder builder(parse_analyzer_spec(analyzer_spec));
    std::int64_t generation = 0;
    store.with_snapshot([&] {
        generation = store.generation();
        store.for_each_chunk([&](const store::Chunk& c) { builder.add(c.chunk_id, c.text); });
    });
    return builder.finish(generation, std::string(analyzer_spec));
}

void InvertedIndex::save(const std::string& path) const {
    detail::BufferWriter w;
    w.raw(kMagic.data(), kMagic.size());
    w.pod<std::int64_t>(generation_);
    w.str(analyzer_spec_);
    w.column(chunk_ids_.span());
    w.column(chunk_order_.span());
    w.column(lengths_.span());
    w.column(norms_.span());
    w.column(term_name_ends_.span());
    w.column(term_bytes_.span());
    w.column(term_df_.span());
    w.column(term_blocks_.span());
    w.column(block_last_.span());
    w.column(block_offset_.span());
    w.column(words_.span());
    w.column(block_impacts_.span());
    w.column(term_impacts_.span());
    w.column(impact_tfs_.span());
    w.column(impact_norms_.span());
    w.column(term_impact_tfs_.span());
    w.column(term_impact_norms_.span());
    doc_blocks_.save(w);
    w.seal();
    detail::write_atomic(path, w.buffer());
}

std::optional<InvertedIndex> InvertedIndex::load(const std::string& path, std::optional<std::int64_t> generation,
                                                 std::string_view analyzer_spec) {
    // Every array is used in place (the columns keep the file's memory alive). A segment of
    // kResidentBytes or more is read whole into huge-page memory (MmapFile::Mode::resident:
    // measured 15-20% faster searches on a 3.4 GB segment); a smaller one is mapped (at 350 MB huge
    // pages measured no faster, and a cold `winnow search` took 50 ms longer to read the file).
    std::shared_ptr<const MmapFile> file;
    try {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        const auto mode = !ec && size >= kResidentBytes ? MmapFile::Mode::resident : MmapFile::Mode::mapped;
        file = std::make_shared<const MmapFile>(path, mode);
    } catch (const Error&) {
        return std::nullopt;
    }
    ThreadPool* pool = &ThreadPool::global();
    const auto contents = detail::checked_file(file->view(), kMagic, pool);
    if (!contents) {
        log::warn("{}: not a winnow lexical index of this version, or corrupt; rebuilding", path);
        return std::nullopt;
    }
    detail::BufferReader r(*contents, kMagic.size());
    InvertedIndex index;
    bool ok = r.pod(index.generation_) && r.str(index.analyzer_spec_);
    if (!ok || (generation && index.generation_ != *generation) || index.analyzer_spec_ != analyzer_spec) {
        log::info("{}: built for generation {} (want {}); rebuilding", path, index.generation_,
                  generation ? std::to_string(*generation) : "any");
        return std::nullopt;
    }
    ok = r.column(index.chunk_ids_, file) && r.column(index.chunk_order_, file) && r.column(index.lengths_, file) &&
         r.column(index.norms_, file) && r.column(index.term_name_ends_, file) && r.column(index.term_bytes_, file) &&
         r.column(index.term_df_, file) && r.column(index.term_blocks_, file) && r.column(index.block_last_, file) &&
         r.column(index.block_offset_, file) && r.column(index.words_, file) &&
         r.column(index.block_impacts_, file) && r.column(index.term_impacts_, file) &&
         r.column(index.impact_tfs_, file) && r.column(index.impact_norms_, file) &&
         r.column(index.term_impact_tfs_, file) && r.column(index.term_impact_norms_, file) &&
         index.doc_blocks_.load(r, file) && r.at_end();
    ok = ok && index.check_loaded(pool);  // shapes, and every block's documents on every core
    if (!ok) {
        log::warn("{}: malformed lexical index; rebuilding", path);
        return std::nullopt;
    }
    return index;
}

std::optional<std::uint32_t> InvertedIndex::doc_of_chunk(std::int64_t chunk_id) const {
    if (chunk_order_.empty()) {
        auto it = std::lower_bound(chunk_ids_.begin(), chunk_ids_.end(), chunk_id);
        if (it == chunk_ids_.end() || *it != chunk_id) return std::nullopt;
        return static_cast<std::uint32_t>(it - chunk_ids_.begin());
    }
    auto it = std::lower_bound(chunk_order_.begin(), chunk_order_.end(), chunk_id,
                               [&](std::uint32_t d, std::int64_t id) { return chunk_ids_[d] < id; });
    if (it == chunk_order_.end() || chunk_ids_[*it] != chunk_id) return std::nullopt;
    return *it;
}

std::int64_t InvertedIndex::term_id(std::string_view term) const {
    auto it = dict_.find(term);
    return it == dict_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

std::uint32_t InvertedIndex::term_freq(std::int64_t term_id, std::uint32_t doc) const {
    if (term_id < 0) return 0;
    PostingCursor c(*this, static_cast<std::uint32_t>(term_id));
    c.advance(doc);
    return c.doc() == doc ? c.tf() : 0;
}

Bm25Query InvertedIndex::parse(std::string_view query_text) const {
    return make_query(query_text, thread_analyzer(analyzer_spec_));
}

const Bm25Similarity& InvertedIndex::similarity(const Bm25Params& params) const {
    std::scoped_lock lock(sim_mutex_);
    for (const auto& [p, sim] : sims_) {
        if (p == params) return *sim;
    }
    sims_.emplace_back(params, std::make_unique<Bm25Similarity>(params, docs_with_terms_, sum_ttf_));
    return *sims_.back().second;
}

namespace {
// A one-segment snapshot that does not own the index (the caller's object outlives the call).
SegmentSearcher alone(const InvertedIndex& index) {
    return SegmentSearcher({Segment{std::shared_ptr<const InvertedIndex>(&index, [](const InvertedIndex*) {}), nullptr}});
}
}  // namespace

std::vector<LexicalHit> InvertedIndex::search(std::string_view query_text, std::size_t k,
                                              const Bm25Params& params) const {
    return alone(*this).search(query_text, k, params);
}

std::optional<Explanation> InvertedIndex::explain(std::string_view query_text, std::int64_t chunk_id,
                                                  const Bm25Params& params) const {
    return alone(*this).explain(query_text, chunk_id, params);
}

// ---------------------------------------------------------------------------------------------
// merge

InvertedIndex merge(std::span<const Segment> parts, std::int64_t generation) {
    InvertedIndex out;
    out.generation_ = generation;
    if (!parts.empty()) out.analyzer_spec_ = parts.front().index->analyzer_spec();
    std::vector<std::vector<std::uint32_t>> doc_map(parts.size());  // old doc -> new doc (UINT32_MAX: deleted)
    constexpr std::uint32_t kGone = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t p = 0; p < parts.size(); ++p) {
        const InvertedIndex& ix = *parts[p].index;
        WINNOW_CHECK(ix.analyzer_spec() == out.analyzer_spec_, Errc::InvalidArgument,
                     "merge: segments of different analyzers ('{}' and '{}')", out.analyzer_spec_, ix.analyzer_spec());
        const LiveDocs* live = parts[p].live_docs.get();
        WINNOW_CHECK(live == nullptr || live->doc_count() == ix.doc_count(), Errc::InvalidArgument,
                     "merge: live docs of {} documents for a segment of {}", live ? live->doc_count() : 0,
                     ix.doc_count());
        doc_map[p].assign(ix.doc_count(), kGone);
        for (std::uint32_t d = 0; d < ix.doc_count(); ++d) {
            if (live != nullptr && !live->is_live(d)) continue;
            doc_map[p][d] = static_cast<std::uint32_t>(out.chunk_ids_.size());
            out.chunk_ids_.push_back(ix.chunk_ids_[d]);
            out.lengths_.push_back(ix.lengths_[d]);
        }
    }
    // Terms in first-seen order; each term's postings part by part (ascending new doc numbers).
    std::unordered_map<std::string_view, std::uint32_t> dict;
    std::vector<std::string> names;
    std::vector<std::vector<std::uint32_t>> postings;  // interleaved (doc, tf)
    for (std::size_t p = 0; p < parts.size(); ++p) {
        const InvertedIndex& ix = *parts[p].index;
        for (std::uint32_t t = 0; t < ix.term_count(); ++t) {
            std::vector<std::uint32_t>* dst = nullptr;
            for (auto c = ix.postings(t); c.doc() != InvertedIndex::PostingCursor::kEnd; c.next()) {
                const std::uint32_t nd = doc_map[p][c.doc()];
                if (nd == kGone) continue;
                if (dst == nullptr) {
                    auto [it, fresh] = dict.emplace(ix.term(t), static_cast<std::uint32_t>(postings.size()));
                    if (fresh) {
                        postings.emplace_back();
                        names.emplace_back(ix.term(t));
                    }
                    dst = &postings[it->second];
                }
                dst->push_back(nd);
                dst->push_back(c.tf());
            }
        }
    }
    out.term_blocks_.push_back(0);
    out.block_offset_.push_back(0);
    std::vector<std::uint32_t> docs;
    std::vector<std::uint32_t> tfs;
    for (auto& p : postings) {
        docs.clear();
        tfs.clear();
        for (std::size_t i = 0; i < p.size(); i += 2) {
            docs.push_back(p[i]);
            tfs.push_back(p[i + 1]);
        }
        out.append_term(docs.data(), tfs.data(), docs.size());
        std::vector<std::uint32_t>().swap(p);
    }
    out.set_term_names(names);
    const bool ok = out.finalize();
    WINNOW_ASSERT(ok);
    return out;
}

// ---------------------------------------------------------------------------------------------
// PostingCursor

InvertedIndex::PostingCursor::PostingCursor(const InvertedIndex& index, std::uint32_t term_id)
    : index_(&index), first_block_(index.term_blocks_[term_id]), end_block_(index.term_blocks_[term_id + 1]) {
    last_block_size_ = static_cast<std::uint32_t>(index.term_df_[term_id] -
                                                  (end_block_ - first_block_ - 1) * postings::kBlockSize);
    if (first_block_ < end_block_) load(first_block_);
}

void InvertedIndex::PostingCursor::load(std::uint64_t block) {
    const InvertedIndex& ix = *index_;
    block_ = block;
    n_ = block + 1 < end_block_ ? static_cast<std::uint32_t>(postings::kBlockSize) : last_block_size_;
    const std::uint32_t base = block == first_block_ ? 0 : ix.block_last_[block - 1] + 1;
    postings::decode_docs(ix.words_.data() + ix.block_offset_[block], n_, base, docs_);
    pos_ = 0;
    doc_ = docs_[0];
    tfs_ready_ = false;
}

void InvertedIndex::PostingCursor::load_tfs() {
    postings::decode_tfs(index_->words_.data() + index_->block_offset_[block_], n_, tfs_);
    tfs_ready_ = true;
}

void InvertedIndex::PostingCursor::advance(std::uint32_t target) {
    if (doc_ >= target) return;
    if (target > index_->block_last_[block_]) {
        const std::uint64_t b = shallow(target);
        if (b == end_block_) {
            doc_ = kEnd;
            pos_ = n_;
            return;
        }
        load(b);
    }
    while (docs_[pos_] < target) ++pos_;
    doc_ = docs_[pos_];
}

std::uint64_t InvertedIndex::PostingCursor::shallow(std::uint32_t target) const {
    const std::uint32_t* last = index_->block_last_.data();
    std::uint64_t b = block_;
    if (b >= end_block_ || last[b] >= target) return b;
    // Galloping over the blocks' last documents, then a binary search.
    std::uint64_t step = 1;
    std::uint64_t lo = b;
    std::uint64_t hi = b + 1;
    while (hi < end_block_ && last[hi] < target) {
        lo = hi;
        step <<= 1;
        hi = b + step;
    }
    if (hi > end_block_) hi = end_block_;
    return static_cast<std::uint64_t>(std::lower_bound(last + lo, last + hi, target) - last);
}


}  // namespace winnow::lexical
