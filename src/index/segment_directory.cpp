#include "index/segment_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/log.h"
#include "store/document_store.h"
#include "winnow/error.h"

namespace winnow::index {
namespace fs = std::filesystem;

// ---- MergePolicy ---------------------------------------------------------------------------

MergePolicy MergePolicy::parse(std::string_view spec) {
    MergePolicy p;
    if (spec == "none") {
        p.segments_per_tier = 0;
        return p;
    }
    std::string_view params;
    if (spec != "tiered") {
        WINNOW_CHECK(spec.rfind("tiered(", 0) == 0 && spec.back() == ')', Errc::InvalidArgument,
                     "merge policy '{}': expected none, tiered or tiered(segments_per_tier=N,floor=N,deletes=R)", spec);
        params = spec.substr(7, spec.size() - 8);
    }
    while (!params.empty()) {
        const auto comma = params.find(',');
        std::string_view kv = params.substr(0, comma);
        params = comma == std::string_view::npos ? std::string_view() : params.substr(comma + 1);
        while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
        const auto eq = kv.find('=');
        WINNOW_CHECK(eq != std::string_view::npos, Errc::InvalidArgument, "merge policy '{}': '{}' is not key=value",
                     spec, kv);
        const std::string_view key = kv.substr(0, eq);
        const std::string value(kv.substr(eq + 1));
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        WINNOW_CHECK(!value.empty() && end == value.c_str() + value.size() && std::isfinite(v) && v >= 0,
                     Errc::InvalidArgument, "merge policy '{}': {} = '{}' is not a non-negative number", spec, key,
                     value);
        if (key == "segments_per_tier") {
            WINNOW_CHECK(v >= 2 && v <= 1000 && v == std::floor(v), Errc::InvalidArgument,
                         "merge policy '{}': segments_per_tier must be an integer in [2, 1000]", spec);
            p.segments_per_tier = static_cast<std::size_t>(v);
        } else if (key == "floor") {
            WINNOW_CHECK(v >= 1 && v == std::floor(v), Errc::InvalidArgument,
                         "merge policy '{}': floor must be a positive integer", spec);
            p.floor_docs = static_cast<std::size_t>(v);
        } else if (key == "deletes") {
            WINNOW_CHECK(v > 0 && v <= 1, Errc::InvalidArgument, "merge policy '{}': deletes must be in (0, 1]", spec);
            p.max_deleted_ratio = v;
        } else {
            WINNOW_THROW(Errc::InvalidArgument,
                         "merge policy '{}': unknown key '{}' (segments_per_tier, floor, deletes)", spec, key);
        }
    }
    return p;
}

std::string MergePolicy::to_string() const {
    if (segments_per_tier == 0) return "none";
    return fmt::format("tiered(segments_per_tier={},floor={},deletes={})", segments_per_tier, floor_docs,
                       max_deleted_ratio);
}

std::vector<std::size_t> MergePolicy::select(const Manifest& manifest) const {
    if (segments_per_tier < 2) return {};
    const double floor = static_cast<double>(std::max<std::size_t>(floor_docs, 1));
    const double log_f = std::log(static_cast<double>(segments_per_tier));
    std::map<int, std::vector<std::size_t>> tiers;
    for (std::size_t i = 0; i < manifest.segments.size(); ++i) {
        const double live = std::max<double>(manifest.segments[i].live(), floor);
        tiers[static_cast<int>(std::floor(std::log(live / floor) / log_f + 1e-9))].push_back(i);
    }
    for (const auto& [tier, members] : tiers) {
        if (members.size() >= segments_per_tier) return members;  // ascending positions
    }
    for (std::size_t i = 0; i < manifest.segments.size(); ++i) {
        const auto& s = manifest.segments[i];
        if (s.doc_count > 0 && static_cast<double>(s.deleted) > max_deleted_ratio * s.doc_count) return {i};
    }
    return {};
}

// ---- DenseSnapshot -------------------------------------------------------------------------

DenseSnapshot::DenseSnapshot(std::string factory, std::size_t dimension, const std::vector<LoadedSegment>& segments)
    : factory_(std::move(factory)), dimension_(dimension) {
    for (const auto& s : segments) {
        if (!s.dense) continue;
        Part part{s.dense, 0};
        if (s.live_docs) {
            for (std::uint32_t d = 0; d < s.lexical->doc_count(); ++d) {
                if (s.live_docs->is_live(d)) continue;
                deleted_.insert(s.lexical->chunk_id(d));
                ++part.deleted;
            }
        }
        live_ += s.dense->size() - std::min(s.dense->size(), part.deleted);
        parts_.push_back(std::move(part));
    }
}

std::vector<dense::DenseHit> DenseSnapshot::search(std::span<const float> query, std::size_t k,
                                                   std::size_t ef_search) const {
    std::vector<dense::DenseHit> out;
    k = std::min(k, live_);
    if (k == 0) return out;
    for (const auto& p : parts_) {
        const std::size_t want = std::min(p.index->size(), k + p.deleted);
        for (const auto& h : p.index->search(query, want, ef_search)) {
            if (p.deleted == 0 || !deleted_.count(h.chunk_id)) out.push_back(h);
        }
    }
    std::sort(out.begin(), out.end(), [](const dense::DenseHit& a, const dense::DenseHit& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.chunk_id < b.chunk_id;
    });
    if (out.size() > k) out.resize(k);
    return out;
}

// ---- DirectoryLock -------------------------------------------------------------------------

DirectoryLock::DirectoryLock(const std::string& dir) {
    const std::string path = (fs::path(dir) / "segments.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    WINNOW_CHECK(fd_ >= 0, Errc::Io, "{}: cannot open the index lock: {}", path, std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd_);
        WINNOW_THROW(Errc::Io, "{}: cannot lock: {}", path, std::strerror(err));
    }
}

std::unique_ptr<DirectoryLock> DirectoryLock::try_lock(const std::string& dir) {
    const std::string path = (fs::path(dir) / "segments.lock").string();
    std::unique_ptr<DirectoryLock> lock(new DirectoryLock());
    lock->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock->fd_ < 0 || ::flock(lock->fd_, LOCK_EX | LOCK_NB) != 0) return nullptr;  // the destructor closes
    return lock;
}

DirectoryLock::~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

// ---- SegmentDirectory ----------------------------------------------------------------------

namespace {

constexpr std::int64_t kSegmentStamp = 0;  // segment files are immutable: the manifest carries the generation

// "seg_<n>" or "seg_<n>.<anything>" -> n.
std::optional<std::uint64_t> segment_number(const std::string& name) {
    if (name.rfind("seg_", 0) != 0) return std::nullopt;
    std::uint64_t n = 0;
    const char* first = name.data() + 4;
    const char* last = name.data() + name.size();
    const auto [ptr, ec] = std::from_chars(first, last, n);
    if (ec != std::errc() || ptr == first) return std::nullopt;
    return n;
}

}  // namespace

SegmentDirectory::SegmentDirectory(std::string dir, std::string analyzer, std::string dense_factory)
    : dir_(std::move(dir)), analyzer_(std::move(analyzer)), dense_factory_(std::move(dense_factory)) {}

std::string SegmentDirectory::path(const std::string& file) const {
    return (fs::path(dir_) / file).string();
}

Snapshot SegmentDirectory::make_snapshot(Manifest manifest, std::vector<LoadedSegment> segments) const {
    Snapshot s;
    std::vector<lexical::Segment> lex;
    lex.reserve(segments.size());
    std::size_t dimension = 0;
    for (const auto& seg : segments) {
        lex.push_back({seg.lexical, seg.live_docs});
        if (seg.dense) dimension = seg.dense->dimension();
    }
    s.lexical = std::make_shared<const lexical::SegmentSearcher>(std::move(lex));
    if (dimension > 0) s.dense = std::make_shared<const DenseSnapshot>(dense_factory_, dimension, segments);
    s.manifest = std::move(manifest);
    s.segments = std::move(segments);
    return s;
}

std::optional<Snapshot> SegmentDirectory::open(const Manifest& manifest, const Snapshot* previous) const {
    if (manifest.analyzer != analyzer_) return std::nullopt;
    std::vector<LoadedSegment> out;
    out.reserve(manifest.segments.size());
    for (const auto& e : manifest.segments) {
        LoadedSegment seg;
        seg.entry = e;
        const LoadedSegment* reuse = nullptr;
        if (previous) {
            for (const auto& p : previous->segments) {
                if (p.entry.name == e.name) reuse = &p;
            }
        }
        if (reuse && reuse->entry.doc_count == e.doc_count && reuse->entry.dense == e.dense) {
            seg.lexical = reuse->lexical;
            seg.dense = reuse->dense;
            if (reuse->entry.live_docs == e.live_docs) seg.live_docs = reuse->live_docs;
        } else {
            auto lex = lexical::InvertedIndex::load(path(e.lexical_file()), std::nullopt, analyzer_);
            if (!lex || lex->doc_count() != e.doc_count) return std::nullopt;
            seg.lexical = std::make_shared<const lexical::InvertedIndex>(std::move(*lex));
            if (e.dense) {
                auto d = dense::DenseIndex::load(path(e.dense_file()), kSegmentStamp);
                if (!d || d->factory() != dense_factory_) return std::nullopt;
                seg.dense = std::make_shared<const dense::DenseIndex>(std::move(*d));
            }
        }
        if (!e.live_docs.empty() && !seg.live_docs) {
            auto live = lexical::LiveDocs::load(path(e.live_docs), e.doc_count);
            if (!live || live->deleted_count() != e.deleted) return std::nullopt;
            seg.live_docs = std::make_shared<const lexical::LiveDocs>(std::move(*live));
        }
        if (e.live_docs.empty() && e.deleted != 0) return std::nullopt;
        out.push_back(std::move(seg));
    }
    return make_snapshot(manifest, std::move(out));
}

Snapshot SegmentDirectory::catch_up(const store::DocumentStore& store, const std::optional<Manifest>& current,
                                    const Snapshot* loaded, bool persist, CatchUpStats* stats) const {
    CatchUpStats local;
    CatchUpStats& st = stats ? *stats : local;
    Manifest m;
    std::vector<LoadedSegment> segs;
    bool usable = false;
    if (current && current->analyzer == analyzer_) {
        if (loaded && loaded->manifest == *current) {
            segs = loaded->segments;
            usable = true;
        } else if (auto opened = open(*current, loaded)) {
            segs = std::move(opened->segments);
            usable = true;
        }
    }
    std::uint64_t next_file = current ? current->next_file : 1;
    if (usable) {
        m = *current;
    } else {
        // Rebuild: new names above every file in the directory, so no file a reader may still
        // open is overwritten.
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir_, ec)) {
            if (auto n = segment_number(entry.path().filename().string())) next_file = std::max(next_file, *n + 1);
        }
        m.analyzer = analyzer_;
        m.max_chunk_id = 0;
        st.rebuilt = true;
        if (current) log::info("{}: rebuilding the segments from the store", dir_);
    }
    m.next_file = next_file;

    // The live chunks the segments hold, by chunk id, against the store's chunk ids.
    struct Ref {
        std::int64_t chunk_id;
        std::uint32_t segment;
        std::uint32_t doc;
    };
    std::vector<Ref> indexed;
    for (std::uint32_t i = 0; i < segs.size(); ++i) {
        const auto& s = segs[i];
        for (std::uint32_t d = 0; d < s.lexical->doc_count(); ++d) {
            if (!s.live_docs || s.live_docs->is_live(d)) indexed.push_back({s.lexical->chunk_id(d), i, d});
        }
    }
    std::sort(indexed.begin(), indexed.end(), [](const Ref& a, const Ref& b) { return a.chunk_id < b.chunk_id; });
    std::vector<std::vector<std::uint32_t>> deletions(segs.size());
    std::size_t at = 0;
    bool consistent = true;
    std::int64_t store_max = 0;
    store.for_each_chunk_id([&](std::int64_t id) {
        store_max = id;
        while (at < indexed.size() && indexed[at].chunk_id < id) {
            deletions[indexed[at].segment].push_back(indexed[at].doc);
            ++at;
        }
        if (at < indexed.size() && indexed[at].chunk_id == id) {
            if (id > m.max_chunk_id) consistent = false;  // indexed, yet above what the manifest says it saw
            ++at;
        } else if (id <= m.max_chunk_id) {
            consistent = false;  // a chunk the store has and the segments should, but do not
        }
    });
    if (!consistent) {
        log::warn("{}: the segments disagree with the store; rebuilding them", dir_);
        return catch_up(store, std::nullopt, nullptr, persist, stats);
    }
    for (; at < indexed.size(); ++at) deletions[indexed[at].segment].push_back(indexed[at].doc);

    // The new segment: every chunk above max_chunk_id.
    const std::int64_t after = m.max_chunk_id;
    lexical::InvertedIndex::Builder builder(lexical::parse_analyzer_spec(analyzer_));
    std::int64_t min_id = 0;
    std::int64_t max_id = 0;
    store.for_each_chunk(
        [&](const store::Chunk& c) {
            if (min_id == 0) min_id = c.chunk_id;
            max_id = c.chunk_id;
            builder.add(c.chunk_id, c.text);
        },
        after);
    std::vector<LoadedSegment> out;
    out.reserve(segs.size() + 1);
    for (std::uint32_t i = 0; i < segs.size(); ++i) {
        LoadedSegment s = segs[i];
        if (!deletions[i].empty()) {
            const auto base = s.live_docs ? s.live_docs : std::make_shared<const lexical::LiveDocs>(s.entry.doc_count);
            auto live = base->with_deleted(deletions[i]);
            st.deleted += live->deleted_count() - base->deleted_count();
            if (live->live_count() == 0) continue;  // nothing left: the segment goes
            s.entry.live_docs = fmt::format("{}.del.{}", s.entry.name, m.next_file++);
            s.entry.deleted = live->deleted_count();
            if (persist) live->save(path(s.entry.live_docs));
            s.live_docs = std::move(live);
        }
        out.push_back(std::move(s));
    }
    if (builder.doc_count() > 0) {
        LoadedSegment s;
        s.entry.name = fmt::format("seg_{}", m.next_file++);
        s.entry.doc_count = static_cast<std::uint32_t>(builder.doc_count());
        s.entry.min_chunk_id = min_id;
        s.entry.max_chunk_id = max_id;
        st.added = builder.doc_count();
        auto lex = std::make_shared<const lexical::InvertedIndex>(builder.finish(kSegmentStamp, analyzer_));
        if (persist) lex->save(path(s.entry.lexical_file()));
        s.lexical = std::move(lex);
        if (!dense_factory_.empty()) {
            std::shared_ptr<dense::DenseIndex> d;
            std::vector<std::int64_t> ids;
            std::vector<float> vectors;
            auto flush = [&] {
                if (!ids.empty()) d->add(ids, vectors);
                ids.clear();
                vectors.clear();
            };
            store.for_each_embedding(
                [&](std::int64_t chunk_id, std::span<const float> v) {
                    if (!d) d = std::make_shared<dense::DenseIndex>(dense_factory_, v.size(), kSegmentStamp);
                    WINNOW_CHECK(v.size() == d->dimension(), Errc::Corrupt,
                                 "{}: chunk {} has a vector of dimension {}, expected {}", store.path(), chunk_id,
                                 v.size(), d->dimension());
                    ids.push_back(chunk_id);
                    vectors.insert(vectors.end(), v.begin(), v.end());
                    if (ids.size() >= 4096) flush();
                },
                after);
            if (d) {
                flush();
                if (persist) d->save(path(s.entry.dense_file()));
                s.entry.dense = true;
                s.dense = std::move(d);
            }
        }
        out.push_back(std::move(s));
    }
    m.max_chunk_id = std::max(m.max_chunk_id, store_max);
    m.generation = store.generation();
    m.segments.clear();
    for (const auto& s : out) m.segments.push_back(s.entry);
    if (persist) {
        m.save(dir_);
        collect_garbage(m);
    }
    return make_snapshot(std::move(m), std::move(out));
}

std::optional<Snapshot> SegmentDirectory::merge(const MergePolicy& policy, const Snapshot* loaded) const {
    std::optional<Snapshot> last;
    for (;;) {
        DirectoryLock lock(dir_);
        auto m = Manifest::load(dir_);
        if (!m) return last;
        const auto pick = policy.select(*m);
        if (pick.empty()) return last;
        auto snap = open(*m, last ? &*last : loaded);
        if (!snap) return last;
        std::vector<lexical::Segment> parts;
        SegmentEntry merged_entry;
        bool any_dense = false;
        std::size_t dimension = 0;
        for (std::size_t i : pick) {
            const auto& s = snap->segments[i];
            parts.push_back({s.lexical, s.live_docs});
            if (s.dense) {
                any_dense = true;
                dimension = s.dense->dimension();
            }
        }
        lexical::InvertedIndex merged = lexical::merge(parts, kSegmentStamp);
        Manifest next = *m;
        LoadedSegment seg;
        const bool empty = merged.doc_count() == 0;
        if (!empty) {
            seg.entry.name = fmt::format("seg_{}", next.next_file++);
            seg.entry.doc_count = static_cast<std::uint32_t>(merged.doc_count());
            seg.entry.min_chunk_id = std::numeric_limits<std::int64_t>::max();
            for (std::size_t i : pick) {
                seg.entry.min_chunk_id = std::min(seg.entry.min_chunk_id, m->segments[i].min_chunk_id);
                seg.entry.max_chunk_id = std::max(seg.entry.max_chunk_id, m->segments[i].max_chunk_id);
            }
            merged.save(path(seg.entry.lexical_file()));
            seg.lexical = std::make_shared<const lexical::InvertedIndex>(std::move(merged));
            if (any_dense) {
                // The merged segment's vectors, read back from the parts' FAISS indexes (live only).
                auto d = std::make_shared<dense::DenseIndex>(dense_factory_, dimension, kSegmentStamp);
                std::vector<std::int64_t> ids;
                std::vector<float> vectors;
                for (std::size_t i : pick) {
                    const auto& s = snap->segments[i];
                    if (!s.dense) continue;
                    for (std::size_t pos = 0; pos < s.dense->size(); ++pos) {
                        const std::int64_t chunk_id = s.dense->chunk_id(pos);
                        if (s.live_docs) {
                            const auto doc = s.lexical->doc_of_chunk(chunk_id);
                            if (!doc || !s.live_docs->is_live(*doc)) continue;
                        }
                        ids.push_back(chunk_id);
                        vectors.resize(vectors.size() + dimension);
                        s.dense->reconstruct(pos, std::span<float>(vectors).last(dimension));
                    }
                }
                if (!ids.empty()) d->add(ids, vectors);
                d->save(path(seg.entry.dense_file()));
                seg.entry.dense = true;
                seg.dense = std::move(d);
            }
        }
        std::vector<LoadedSegment> segments;
        next.segments.clear();
        for (std::size_t i = 0; i < snap->segments.size(); ++i) {
            const bool picked = std::find(pick.begin(), pick.end(), i) != pick.end();
            if (!picked) {
                segments.push_back(snap->segments[i]);
            } else if (i == pick.front() && !empty) {
                segments.push_back(seg);
            }
        }
        for (const auto& s : segments) next.segments.push_back(s.entry);
        next.save(dir_);
        collect_garbage(next);
        log::info("{}: merged {} segments into {} ({} documents)", dir_, pick.size(),
                  empty ? std::string("none") : seg.entry.name, empty ? 0u : seg.entry.doc_count);
        last = make_snapshot(std::move(next), std::move(segments));
    }
}

void SegmentDirectory::collect_garbage_if_idle() const {
    const auto lock = DirectoryLock::try_lock(dir_);
    if (!lock) return;
    if (const auto m = Manifest::load(dir_)) collect_garbage(*m);
}

void SegmentDirectory::collect_garbage(const Manifest& manifest) const {
    std::set<std::string> keep;
    for (const auto& s : manifest.segments) {
        keep.insert(s.lexical_file());
        if (s.dense) keep.insert(s.dense_file());
        if (!s.live_docs.empty()) keep.insert(s.live_docs);
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        const bool legacy = name == "lexical.idx" || name == "dense.faiss";
        const bool segment_file = segment_number(name).has_value() && name.find(".tmp.") == std::string::npos;
        if ((legacy || segment_file) && !keep.count(name)) {
            std::error_code rm;
            fs::remove(entry.path(), rm);
        }
    }
    remove_stale_temporaries(dir_);
}

}  // namespace winnow::index
