#include "lexical/inverted_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <queue>

#include "core/log.h"
#include "store/document_store.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

constexpr char kMagic[8] = {'W', 'N', 'W', 'L', 'E', 'X', '0', '1'};

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 0x100000001b3ULL;
    }
    return h;
}

class Writer {
public:
    template <typename T>
    void pod(const T& v) {
        raw(&v, sizeof(T));
    }
    template <typename T>
    void array(const std::vector<T>& v) {
        pod<std::uint64_t>(v.size());
        raw(v.data(), v.size() * sizeof(T));
    }
    void raw(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
    void str(std::string_view s) {
        pod<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        raw(s.data(), s.size());
    }
    std::string& buffer() { return buf_; }

private:
    std::string buf_;
};

class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}
    template <typename T>
    bool pod(T& v) {
        if (data_.size() - pos_ < sizeof(T)) return false;
        std::memcpy(&v, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }
    template <typename T>
    bool array(std::vector<T>& v) {
        std::uint64_t n = 0;
        if (!pod(n) || n > (data_.size() - pos_) / sizeof(T)) return false;
        v.resize(n);
        std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
        pos_ += n * sizeof(T);
        return true;
    }
    bool str(std::string& s) {
        std::uint32_t n = 0;
        if (!pod(n) || n > data_.size() - pos_) return false;
        s.assign(data_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    std::size_t pos() const { return pos_; }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

// Atomic replace with a temporary name of its own per process and call (<path>.tmp.<pid>.<n>):
// two processes, or two threads of one (two Index objects over one directory), never share one.
std::atomic<std::uint64_t> g_tmp_counter{0};

void write_atomic(const std::string& path, std::string_view contents) {
    const std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), g_tmp_counter.fetch_add(1));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    WINNOW_CHECK(fd >= 0, Errc::Io, "{}: cannot create: {}", tmp, std::strerror(errno));
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            WINNOW_THROW(Errc::Io, "{}: write failed: {}", tmp, std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: fsync failed: {}", tmp, std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: rename failed: {}", path, std::strerror(err));
    }
}

Analyzer& thread_analyzer(const std::string& spec) {
    thread_local std::unordered_map<std::string, std::unique_ptr<Analyzer>> analyzers;
    auto it = analyzers.find(spec);
    if (it == analyzers.end()) {
        it = analyzers.emplace(spec, std::make_unique<Analyzer>(parse_analyzer_spec(spec))).first;
    }
    return *it->second;
}

struct HeapEntry {
    float score;
    std::uint32_t doc;
};
// "Worse" first: lower score, then higher doc number (Lucene keeps the lower doc on ties).
struct WorseFirst {
    bool operator()(const HeapEntry& a, const HeapEntry& b) const {
        if (a.score != b.score) return a.score > b.score;
        return a.doc < b.doc;
    }
};

std::vector<LexicalHit> drain(std::vector<HeapEntry>& heap, const InvertedIndex& index) {
    std::sort(heap.begin(), heap.end(), [](const HeapEntry& a, const HeapEntry& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.doc < b.doc;
    });
    std::vector<LexicalHit> out;
    out.reserve(heap.size());
    for (const auto& e : heap) out.push_back({index.chunk_id(e.doc), e.doc, e.score});
    return out;
}

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
    WINNOW_ASSERT(chunk_ids_.empty() || chunk_id > chunk_ids_.back());
    const auto doc = static_cast<std::uint32_t>(chunk_ids_.size());
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
    std::size_t total = 0;
    for (const auto& p : postings_) total += p.size() / 2;
    index.term_offsets_.reserve(postings_.size() + 1);
    index.post_docs_.reserve(total);
    index.post_tfs_.reserve(total);
    index.term_offsets_.push_back(0);
    for (auto& p : postings_) {
        for (std::size_t i = 0; i < p.size(); i += 2) {
            index.post_docs_.push_back(p[i]);
            index.post_tfs_.push_back(p[i + 1]);
        }
        index.term_offsets_.push_back(index.post_docs_.size());
        std::vector<std::uint32_t>().swap(p);
    }
    index.term_names_ = std::move(term_names_);
    postings_.clear();
    dict_.clear();
    index.finalize();
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
    lengths_ = std::move(o.lengths_);
    norms_ = std::move(o.norms_);
    term_names_ = std::move(o.term_names_);  // moves the buffer: the views in dict_ stay valid
    dict_ = std::move(o.dict_);
    term_offsets_ = std::move(o.term_offsets_);
    post_docs_ = std::move(o.post_docs_);
    post_tfs_ = std::move(o.post_tfs_);
    docs_with_terms_ = o.docs_with_terms_;
    sum_ttf_ = o.sum_ttf_;
    std::scoped_lock lock(sim_mutex_, o.sim_mutex_);
    sims_ = std::move(o.sims_);
    return *this;
}

InvertedIndex::~InvertedIndex() = default;

void InvertedIndex::finalize() {
    norms_.resize(lengths_.size());
    docs_with_terms_ = 0;
    sum_ttf_ = 0;
    for (std::size_t i = 0; i < lengths_.size(); ++i) {
        norms_[i] = int_to_byte4(lengths_[i]);
        if (lengths_[i] > 0) ++docs_with_terms_;
        sum_ttf_ += lengths_[i];
    }
    dict_.clear();
    dict_.reserve(term_names_.size());
    for (std::size_t i = 0; i < term_names_.size(); ++i) {
        dict_.emplace(std::string_view(term_names_[i]), static_cast<std::uint32_t>(i));
    }
    std::scoped_lock lock(sim_mutex_);
    sims_.clear();
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
    Writer w;
    w.raw(kMagic, sizeof(kMagic));
    w.pod<std::int64_t>(generation_);
    w.str(analyzer_spec_);
    w.array(chunk_ids_);
    w.array(lengths_);
    w.array(term_offsets_);
    w.array(post_docs_);
    w.array(post_tfs_);
    w.pod<std::uint64_t>(term_names_.size());
    for (const auto& t : term_names_) w.str(t);
    const std::uint64_t checksum = fnv1a(w.buffer().data(), w.buffer().size());
    w.pod(checksum);
    write_atomic(path, w.buffer());
}

std::optional<InvertedIndex> InvertedIndex::load(const std::string& path, std::int64_t generation,
                                                 std::string_view analyzer_spec) {
    std::string data;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) return std::nullopt;
        data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (data.size() < sizeof(kMagic) + 16 || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
        log::warn("{}: not a winnow lexical index; rebuilding", path);
        return std::nullopt;
    }
    std::uint64_t stored_checksum = 0;
    std::memcpy(&stored_checksum, data.data() + data.size() - 8, 8);
    if (fnv1a(data.data(), data.size() - 8) != stored_checksum) {
        log::warn("{}: checksum mismatch; rebuilding", path);
        return std::nullopt;
    }
    Reader r(std::string_view(data).substr(sizeof(kMagic), data.size() - sizeof(kMagic) - 8));
    InvertedIndex index;
    std::uint64_t n_terms = 0;
    bool ok = r.pod(index.generation_) && r.str(index.analyzer_spec_);
    if (!ok || index.generation_ != generation || index.analyzer_spec_ != analyzer_spec) {
        log::info("{}: built for generation {} (store is at {}); rebuilding", path, index.generation_, generation);
        return std::nullopt;
    }
    ok = r.array(index.chunk_ids_) && r.array(index.lengths_) && r.array(index.term_offsets_) &&
         r.array(index.post_docs_) && r.array(index.post_tfs_) && r.pod(n_terms);
    ok = ok && index.lengths_.size() == index.chunk_ids_.size() && index.term_offsets_.size() == n_terms + 1 &&
         index.post_docs_.size() == index.post_tfs_.size() && index.term_offsets_.back() == index.post_docs_.size();
    if (ok) {
        index.term_names_.resize(n_terms);
        for (auto& t : index.term_names_) ok = ok && r.str(t);
    }
    if (ok) {
        for (std::size_t t = 0; t < n_terms && ok; ++t) ok = index.term_offsets_[t] <= index.term_offsets_[t + 1];
        for (std::uint32_t d : index.post_docs_) {
            if (d >= index.chunk_ids_.size()) {
                ok = false;
                break;
            }
        }
    }
    if (!ok) {
        log::warn("{}: malformed lexical index; rebuilding", path);
        return std::nullopt;
    }
    index.finalize();
    return index;
}

std::optional<std::uint32_t> InvertedIndex::doc_of_chunk(std::int64_t chunk_id) const {
    auto it = std::lower_bound(chunk_ids_.begin(), chunk_ids_.end(), chunk_id);
    if (it == chunk_ids_.end() || *it != chunk_id) return std::nullopt;
    return static_cast<std::uint32_t>(it - chunk_ids_.begin());
}

std::int64_t InvertedIndex::term_id(std::string_view term) const {
    auto it = dict_.find(term);
    return it == dict_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

Bm25Query InvertedIndex::parse(std::string_view query_text) const {
    return make_query(query_text, thread_analyzer(analyzer_spec_));
}

const InvertedIndex::SimilarityEntry& InvertedIndex::similarity_entry(const Bm25Params& params) const {
    std::scoped_lock lock(sim_mutex_);
    for (const auto& [p, entry] : sims_) {
        if (p == params) return *entry;
    }
    auto entry = std::make_unique<SimilarityEntry>();
    entry->similarity = std::make_unique<Bm25Similarity>(params, docs_with_terms_, sum_ttf_);
    entry->max_tf_norm.resize(term_names_.size());
    const Bm25Similarity& sim = *entry->similarity;
    for (std::size_t t = 0; t < term_names_.size(); ++t) {
        float best = 0.0f;
        for (std::uint64_t i = term_offsets_[t]; i < term_offsets_[t + 1]; ++i) {
            best = std::max(best, static_cast<float>(post_tfs_[i]) * sim.norm_inverse(norms_[post_docs_[i]]));
        }
        entry->max_tf_norm[t] = best;
    }
    sims_.emplace_back(params, std::move(entry));
    return *sims_.back().second;
}

const Bm25Similarity& InvertedIndex::similarity(const Bm25Params& params) const {
    return *similarity_entry(params).similarity;
}

std::vector<LexicalHit> InvertedIndex::search(std::string_view query_text, std::size_t k,
                                              const Bm25Params& params) const {
    const auto& entry = similarity_entry(params);
    Bm25Weight weight(*this, parse(query_text), *entry.similarity, entry.max_tf_norm);
    return weight.top_k(k);
}

std::optional<Explanation> InvertedIndex::explain(std::string_view query_text, std::int64_t chunk_id,
                                                  const Bm25Params& params) const {
    auto doc = doc_of_chunk(chunk_id);
    if (!doc) return std::nullopt;
    const auto& entry = similarity_entry(params);
    Bm25Weight weight(*this, parse(query_text), *entry.similarity, entry.max_tf_norm);
    return weight.explain(*doc);
}

// ---------------------------------------------------------------------------------------------
// Bm25Weight

Bm25Weight::Bm25Weight(const InvertedIndex& index, const Bm25Query& query, const Bm25Similarity& similarity,
                       std::span<const float> max_tf_norm)
    : index_(index), similarity_(similarity) {
    for (const auto& qt : query.terms) {
        TermStats s;
        s.term = qt.term;
        s.boost = qt.boost;
        s.term_id = index.term_id(qt.term);
        if (s.term_id >= 0) {
            s.doc_freq = index.doc_freq(s.term_id);
            s.idf = similarity.idf(s.doc_freq);
            s.weight = s.boost * s.idf;
            const float x = max_tf_norm[static_cast<std::size_t>(s.term_id)];
            s.upper_bound = Bm25Similarity::score(s.weight, 1.0f, x);  // tf folded into x
        }
        terms_.push_back(std::move(s));
    }
}

namespace {
struct Cursor {
    const std::uint32_t* docs;
    const std::uint32_t* tfs;
    std::size_t pos;
    std::size_t len;
    float weight;
    double upper_bound;
    std::uint32_t doc() const { return pos < len ? docs[pos] : std::numeric_limits<std::uint32_t>::max(); }
    // Moves to the first posting >= target (galloping, then binary search).
    void advance(std::uint32_t target) {
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
}  // namespace

std::vector<LexicalHit> Bm25Weight::top_k(std::size_t k) const {
    if (k == 0) return {};
    const auto& ix = index_;
    std::vector<Cursor> cursors;
    for (const auto& t : terms_) {
        if (t.term_id < 0 || t.weight <= 0.0f) continue;
        const auto begin = ix.term_offsets_[t.term_id];
        const auto end = ix.term_offsets_[t.term_id + 1];
        // The bound is padded so float rounding in the sum can never prune a true top-k document.
        cursors.push_back({ix.post_docs_.data() + begin, ix.post_tfs_.data() + begin, 0, end - begin, t.weight,
                           static_cast<double>(t.upper_bound) * (1.0 + 1e-6) + 1e-9});
    }
    if (cursors.empty()) return {};
    std::sort(cursors.begin(), cursors.end(),
              [](const Cursor& a, const Cursor& b) { return a.upper_bound < b.upper_bound; });
    const std::size_t n = cursors.size();
    std::vector<double> prefix(n);  // prefix[i] = sum of bounds of cursors 0..i
    double acc = 0;
    for (std::size_t i = 0; i < n; ++i) prefix[i] = acc += cursors[i].upper_bound;

    const std::uint8_t* norms = ix.norms_.data();
    const Bm25Similarity& sim = similarity_;
    std::vector<HeapEntry> heap;
    heap.reserve(std::min<std::size_t>(k, ix.doc_count()) + 1);  // k may be far more than there are documents
    double threshold = -1.0;  // scores are >= 0; a document enters while the heap is not full
    std::size_t first_essential = 0;
    constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();

    while (true) {
        std::uint32_t doc = kEnd;
        for (std::size_t i = first_essential; i < n; ++i) doc = std::min(doc, cursors[i].doc());
        if (doc == kEnd) break;
        const float norm_inverse = sim.norm_inverse(norms[doc]);
        double score = 0.0;
        for (std::size_t i = first_essential; i < n; ++i) {
            Cursor& c = cursors[i];
            if (c.pos < c.len && c.docs[c.pos] == doc) {
                score += Bm25Similarity::score(c.weight, static_cast<float>(c.tfs[c.pos]), norm_inverse);
                ++c.pos;
            }
        }
        bool pruned = false;
        for (std::size_t i = first_essential; i-- > 0;) {
            if (score + prefix[i] <= threshold) {
                pruned = true;
                break;
            }
            Cursor& c = cursors[i];
            c.advance(doc);
            if (c.pos < c.len && c.docs[c.pos] == doc) {
                score += Bm25Similarity::score(c.weight, static_cast<float>(c.tfs[c.pos]), norm_inverse);
            }
        }
        if (pruned) continue;
        const auto s = static_cast<float>(score);
        if (heap.size() < k) {
            heap.push_back({s, doc});
            std::push_heap(heap.begin(), heap.end(), WorseFirst());
        } else if (s > heap.front().score) {
            std::pop_heap(heap.begin(), heap.end(), WorseFirst());
            heap.back() = {s, doc};
            std::push_heap(heap.begin(), heap.end(), WorseFirst());
        } else {
            continue;
        }
        if (heap.size() == k) {
            threshold = heap.front().score;
            while (first_essential < n && prefix[first_essential] <= threshold) ++first_essential;
            if (first_essential == n) break;
        }
    }
    return drain(heap, ix);
}

std::vector<LexicalHit> Bm25Weight::top_k_exhaustive(std::size_t k) const {
    const auto& ix = index_;
    std::vector<double> acc(ix.doc_count(), 0.0);
    std::vector<char> hit(ix.doc_count(), 0);
    for (const auto& t : terms_) {
        if (t.term_id < 0) continue;
        for (auto i = ix.term_offsets_[t.term_id]; i < ix.term_offsets_[t.term_id + 1]; ++i) {
            const std::uint32_t d = ix.post_docs_[i];
            acc[d] += Bm25Similarity::score(t.weight, static_cast<float>(ix.post_tfs_[i]),
                                            similarity_.norm_inverse(ix.norms_[d]));
            hit[d] = 1;
        }
    }
    std::vector<HeapEntry> all;
    for (std::uint32_t d = 0; d < acc.size(); ++d) {
        if (hit[d]) all.push_back({static_cast<float>(acc[d]), d});
    }
    auto out = drain(all, ix);
    if (out.size() > k) out.resize(k);
    return out;
}

Explanation Bm25Weight::explain(std::uint32_t doc) const {
    const auto& ix = index_;
    Explanation e;
    e.chunk_id = ix.chunk_id(doc);
    e.params = similarity_.params();
    double total = 0.0;
    for (const auto& t : terms_) {
        TermExplanation te;
        te.term = t.term;
        te.boost = t.boost;
        te.doc_freq = t.doc_freq;
        te.doc_count = similarity_.doc_count();
        te.idf = t.idf;
        te.doc_length = ix.lengths_[doc];
        te.encoded_length = byte4_to_int(ix.norms_[doc]);
        te.avgdl = similarity_.avgdl();
        if (t.term_id >= 0) {
            const auto* begin = ix.post_docs_.data() + ix.term_offsets_[t.term_id];
            const auto* end = ix.post_docs_.data() + ix.term_offsets_[t.term_id + 1];
            const auto* it = std::lower_bound(begin, end, doc);
            if (it != end && *it == doc) {
                te.tf = ix.post_tfs_[static_cast<std::size_t>(it - ix.post_docs_.data())];
                te.score = Bm25Similarity::score(t.weight, static_cast<float>(te.tf),
                                                 similarity_.norm_inverse(ix.norms_[doc]));
                total += te.score;
            }
        }
        e.terms.push_back(std::move(te));
    }
    e.score = static_cast<float>(total);
    return e;
}

}  // namespace winnow::lexical
