// The Xapian first stage and exporter.
//
// Ranking: Xapian's BM25Weight set up to compute winnow's (Lucene's) BM25. With k2 = 0 (no extra
// per-document part), k3 = 0 (the query-side factor off) and min_normlen = 0 (no floor under
// length / avglen), a term contributes
//     xidf * (k1 + 1) * wdf / (wdf + k1 * (1 - b + b * len / avglen))
// where xidf = log(tw), tw = (N - n + 0.5) / (n + 0.5), raised to tw / 2 + 1 when below 2. Lucene's
// term score is lidf * tf / (tf + k1 * (1 - b + b * dl / avgdl)) with lidf = log(1 + tw), times the
// query term's boost (its repetitions in the query). Each term is therefore wrapped in OP_SCALE_WEIGHT
// by boost * lidf / (xidf * (k1 + 1)), with n and N read from the database being searched (all
// shards together), so the formula is Lucene's. What remains different: Lucene stores a document's
// length in one byte (exact below 24, then 4 significant bits: up to 1/8 shorter), Xapian uses the
// exact length; Lucene computes in float, Xapian in double. Ranks agree except where those move a
// score past a neighbour's (bench/README.md: SciFact nDCG@10 of both).
//
// Shards: several databases (local folders, a stub, or xapian-tcpsrv remotes) are added to one
// Xapian::Database; Xapian gathers the term statistics of all of them before weighting, so the merged
// ranking is the one a single database with every chunk gives. Ties are broken by chunk id (value
// slot 0 as a second sort key), which makes the order independent of how chunks were sharded.
#include <xapian.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "core/json.h"
#include "core/log.h"
#include "lexical/analyzer.h"
#include "lexical/bm25.h"
#include "retrieval/external_engine.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::retrieval {
namespace {

namespace fs = std::filesystem;

constexpr Xapian::valueno kChunkIdSlot = 0;
constexpr std::size_t kMaxTermBytes = 245;  // Xapian's glass backend limit
constexpr const char* kAnalyzerKey = "winnow.analyzer";
constexpr const char* kBm25Key = "winnow.bm25";
constexpr const char* kFormatKey = "winnow.format";

// Xapian has no empty term; the analyzer can emit one (e.g. a lone possessive), and winnow indexes it.
// It becomes a byte no analyzed word contains, at indexing and query time alike.
std::string xapian_term(std::string_view term) { return term.empty() ? std::string("\x01") : std::string(term); }

std::string encode_chunk_id(std::int64_t id) {
    std::string out(8, '\0');
    const auto u = static_cast<std::uint64_t>(id) ^ (std::uint64_t{1} << 63);  // sorts as signed
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
    return out;
}

std::int64_t decode_chunk_id(const std::string& v) {
    WINNOW_CHECK(v.size() == 8, Errc::Corrupt, "xapian: value slot {} holds {} bytes, not a chunk id (8)",
                 kChunkIdSlot, v.size());
    std::uint64_t u = 0;
    for (unsigned char c : v) u = (u << 8) | c;
    return static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63));
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer: spreads consecutive ids over shards
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

struct Remote {
    std::string host;
    unsigned port = 0;
    std::string spec;
};

Remote parse_remote(const std::string& spec) {
    Remote r;
    r.spec = spec;
    const auto colon = spec.rfind(':');
    WINNOW_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < spec.size(), Errc::InvalidArgument,
                 "xapian.remote: '{}' is not host:port", spec);
    r.host = spec.substr(0, colon);
    if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
    const std::string port = spec.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    WINNOW_CHECK(end != port.c_str() && *end == '\0' && p > 0 && p < 65536, Errc::InvalidArgument,
                 "xapian.remote: '{}' has no valid port", spec);
    r.port = static_cast<unsigned>(p);
    return r;
}

// Reads the winnow metadata of one (sub)database; all of them must agree.
struct ShardInfo {
    std::string analyzer;
    std::string bm25;
};

ShardInfo shard_info(const Xapian::Database& db, const std::string& where) {
    ShardInfo info{db.get_metadata(kAnalyzerKey), db.get_metadata(kBm25Key)};
    WINNOW_CHECK(!info.analyzer.empty() && !info.bm25.empty(), Errc::InvalidArgument,
                 "xapian: {} was not written by `winnow index --to xapian:DIR` (no {} metadata)", where, kAnalyzerKey);
    return info;
}

class XapianEngine final : public ExternalEngine {
public:
    explicit XapianEngine(const ExternalStageOptions& options) : options_(options) {
        for (const auto& r : options_.remote) remotes_.push_back(parse_remote(r));
        // Open once now: a missing database or a dead shard shows when the pipeline opens.
        release(open());
    }

    std::vector<Candidate> search(std::string_view query, const SearchOptions& options) const override {
        std::unique_ptr<Handle> handle = acquire();
        try {
            auto out = run(*handle, query, options);
            release(std::move(handle));
            return out;
        } catch (const Xapian::NetworkError& e) {
            // The connection may be stale (a shard restarted): reconnect once. open() names an unreachable shard.
            log::warn("xapian: {} ({}); reconnecting", e.get_msg(), e.get_type());
        } catch (const Xapian::DatabaseModifiedError&) {
            log::info("xapian: the database changed under the search; reopening");
        } catch (const Xapian::Error& e) {
            WINNOW_THROW(Errc::Io, "xapian: search failed: {}: {}", e.get_type(), e.get_msg());
        }
        handle = open();
        try {
            auto out = run(*handle, query, options);
            release(std::move(handle));
            return out;
        } catch (const Xapian::NetworkError& e) {
            WINNOW_THROW(Errc::Io, "xapian: a shard failed during the search ({}): {}; shards: {}", e.get_type(),
                         e.get_msg(), where());
        } catch (const Xapian::Error& e) {
            WINNOW_THROW(Errc::Io, "xapian: search failed: {}: {}", e.get_type(), e.get_msg());
        }
    }

    std::string describe(const SearchOptions& options) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        const Bm25Params p = options.bm25.value_or(defaults_);
        return fmt::format("xapian({}, {} shard{})", lexical::bm25_spec(p), n_shards_, n_shards_ == 1 ? "" : "s");
    }

private:
    struct Handle {
        Xapian::Database db;
    };

    std::string where() const {
        std::string out;
        for (const auto& d : options_.db) out += (out.empty() ? "" : ", ") + d;
        for (const auto& r : remotes_) out += (out.empty() ? "" : ", ") + r.spec;
        return out;
    }

    std::unique_ptr<Handle> open() const {
        auto handle = std::make_unique<Handle>();
        std::vector<std::pair<Xapian::Database, std::string>> parts;
        for (const auto& path : options_.db) {
            try {
                parts.emplace_back(Xapian::Database(path), path);
            } catch (const Xapian::DatabaseOpeningError& e) {
                WINNOW_THROW(Errc::NotFound, "xapian.db {}: cannot open ({})", path, e.get_msg());
            } catch (const Xapian::Error& e) {
                WINNOW_THROW(Errc::Io, "xapian.db {}: {}: {}", path, e.get_type(), e.get_msg());
            }
        }
        const auto timeout = static_cast<useconds_t>(options_.timeout_ms);
        for (const auto& r : remotes_) {
            try {
                parts.emplace_back(Xapian::Remote::open(r.host, r.port, timeout, timeout), "remote " + r.spec);
            } catch (const Xapian::Error& e) {
                WINNOW_THROW(Errc::Io, "xapian: shard {} is unreachable ({}: {}); the search needs every shard",
                             r.spec, e.get_type(), e.get_msg());
            }
        }
        std::size_t shards = 0;
        std::optional<ShardInfo> first;
        std::string first_where;
        for (auto& [db, name] : parts) {
            try {
                const ShardInfo info = shard_info(db, name);
                if (!first) {
                    first = info;
                    first_where = name;
                } else {
                    WINNOW_CHECK(info.analyzer == first->analyzer, Errc::InvalidArgument,
                                 "xapian: {} was analyzed with '{}', {} with '{}': shards must share one analyzer", name,
                                 info.analyzer, first_where, first->analyzer);
                }
                shards += db.size();
                handle->db.add_database(db);
            } catch (const Xapian::Error& e) {
                WINNOW_THROW(Errc::Io, "xapian: {}: {}: {}", name, e.get_type(), e.get_msg());
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (analyzer_.empty()) {
            analyzer_ = first->analyzer;
            defaults_ = lexical::parse_bm25_spec(first->bm25);
            (void)lexical::parse_analyzer_spec(analyzer_);  // validates
        }
        n_shards_ = shards;
        return handle;
    }

    std::unique_ptr<Handle> acquire() const {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!free_.empty()) {
                auto h = std::move(free_.back());
                free_.pop_back();
                return h;
            }
        }
        return open();
    }

    void release(std::unique_ptr<Handle> handle) const {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.size() < 16) free_.push_back(std::move(handle));
    }

    std::vector<Candidate> run(Handle& handle, std::string_view query, const SearchOptions& options) const {
        std::string analyzer_spec;
        Bm25Params params;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            analyzer_spec = analyzer_;
            params = options.bm25.value_or(defaults_);
        }
        // The query's bag of words (a repeated term counts that many times), first-occurrence order.
        lexical::Analyzer analyzer(lexical::parse_analyzer_spec(analyzer_spec));
        std::vector<std::pair<std::string, float>> terms;
        analyzer.analyze(query, [&](std::string_view t) {
            auto it = std::find_if(terms.begin(), terms.end(), [&](const auto& e) { return e.first == xapian_term(t); });
            if (it == terms.end()) terms.emplace_back(xapian_term(t), 1.0f);
            else it->second += 1.0f;
        });
        Xapian::Database& db = handle.db;
        const double n_docs = static_cast<double>(db.get_doccount());
        std::vector<Xapian::Query> parts;
        for (const auto& [term, boost] : terms) {
            if (term.size() > kMaxTermBytes) continue;
            const double df = static_cast<double>(db.get_termfreq(term));
            if (df == 0) continue;
            const double tw = (n_docs - df + 0.5) / (df + 0.5);
            const double xidf = std::log(tw < 2 ? tw * 0.5 + 1 : tw);
            const float lidf = static_cast<float>(std::log(1.0 + tw));  // Lucene's idf, in float as Lucene keeps it
            const double factor = static_cast<double>(boost) * static_cast<double>(lidf) / (xidf * (params.k1 + 1.0));
            parts.emplace_back(Xapian::Query::OP_SCALE_WEIGHT, Xapian::Query(term), factor);
        }
        std::vector<Candidate> out;
        if (parts.empty() || options.k == 0) return out;
        Xapian::Enquire enquire(db);
        enquire.set_query(Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end()));
        enquire.set_weighting_scheme(Xapian::BM25Weight(params.k1, 0.0, 0.0, params.b, 0.0));
        enquire.set_sort_by_relevance_then_value(kChunkIdSlot, false);
        const Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(options.k));
        mset.fetch();
        out.reserve(mset.size());
        for (auto it = mset.begin(); it != mset.end(); ++it) {
            const Xapian::Document doc = it.get_document();
            Candidate c;
            c.chunk_id = decode_chunk_id(doc.get_value(kChunkIdSlot));
            c.score = static_cast<float>(it.get_weight());
            try {
                const Json j = Json::parse(doc.get_data());
                c.doc_id = j.at("doc_id").get<std::string>();
                c.title = j.value("title", "");
                c.source = j.value("source", "");
                c.text = j.at("text").get<std::string>();
                c.begin = j.value("begin", 0u);
                c.end = j.value("end", 0u);
            } catch (const nlohmann::json::exception& e) {
                WINNOW_THROW(Errc::Corrupt, "xapian: chunk {}: document data is not winnow's JSON ({})", c.chunk_id,
                             e.what());
            }
            out.push_back(std::move(c));
        }
        return out;
    }

    ExternalStageOptions options_;
    std::vector<Remote> remotes_;
    mutable std::mutex mutex_;
    mutable std::vector<std::unique_ptr<Handle>> free_;
    mutable std::string analyzer_;
    mutable Bm25Params defaults_;
    mutable std::size_t n_shards_ = 0;
};

}  // namespace

std::shared_ptr<const ExternalEngine> make_xapian_engine(const ExternalStageOptions& options) {
    return std::make_shared<XapianEngine>(options);
}

ExportSummary export_to_xapian(const Index& index, const std::string& dir, std::size_t shards) {
    WINNOW_CHECK(shards >= 1 && shards <= 1024, Errc::InvalidArgument, "--shards {}: expected 1 to 1024", shards);
    ExportSummary summary;
    std::error_code ec;
    fs::create_directories(dir, ec);
    WINNOW_CHECK(!ec, Errc::Io, "{}: cannot create the folder: {}", dir, ec.message());
    const std::string analyzer_spec = index.config().analyzer;
    const std::string bm25 = lexical::bm25_spec(lexical::parse_bm25_spec(index.config().bm25));
    lexical::Analyzer analyzer(lexical::parse_analyzer_spec(analyzer_spec));
    std::vector<Xapian::WritableDatabase> dbs;
    std::string stub;
    try {
        for (std::size_t i = 0; i < shards; ++i) {
            const std::string name = fmt::format("shard-{}", i);
            const std::string path = (fs::path(dir) / name).string();
            dbs.emplace_back(path, Xapian::DB_CREATE_OR_OVERWRITE | Xapian::DB_BACKEND_GLASS);
            dbs.back().set_metadata(kAnalyzerKey, analyzer_spec);
            dbs.back().set_metadata(kBm25Key, bm25);
            dbs.back().set_metadata(kFormatKey, "1");
            dbs.back().set_metadata("winnow.shard", fmt::format("{}/{}", i, shards));
            summary.paths.push_back(path);
            stub += "auto " + name + "\n";
        }
        for_each_index_chunk(index, [&](std::vector<Candidate>& batch) {
            for (const Candidate& c : batch) {
                Xapian::Document doc;
                std::size_t n_terms = 0;
                analyzer.analyze(c.text, [&](std::string_view t) {
                    if (t.size() > kMaxTermBytes) {
                        ++summary.skipped_terms;
                        return;
                    }
                    doc.add_term(xapian_term(t));
                    ++n_terms;
                });
                if (n_terms == 0) {
                    ++summary.empty_chunks;
                    continue;
                }
                doc.add_value(kChunkIdSlot, encode_chunk_id(c.chunk_id));
                const Json data = {{"chunk_id", c.chunk_id}, {"doc_id", c.doc_id}, {"title", c.title},
                                   {"source", c.source},     {"text", c.text},     {"begin", c.begin},
                                   {"end", c.end}};
                doc.set_data(data.dump(-1, ' ', false, Json::error_handler_t::replace));
                dbs[mix(static_cast<std::uint64_t>(c.chunk_id)) % shards].add_document(doc);
                ++summary.chunks;
            }
        });
        for (auto& db : dbs) db.commit();
    } catch (const Xapian::Error& e) {
        WINNOW_THROW(Errc::Io, "xapian export to {}: {}: {}", dir, e.get_type(), e.get_msg());
    }
    dbs.clear();
    // A stub: Xapian::Database(dir) opens every shard as one database (xapian(db=DIR)).
    const fs::path stub_path = fs::path(dir) / "XAPIANDB";
    std::ofstream out(stub_path, std::ios::trunc);
    out << stub;
    out.close();
    WINNOW_CHECK(out.good(), Errc::Io, "{}: cannot write", stub_path.string());
    summary.shards = shards;
    if (summary.skipped_terms > 0) {
        log::warn("xapian export: {} term occurrences longer than {} bytes left out (Xapian's limit)",
                  summary.skipped_terms, kMaxTermBytes);
    }
    return summary;
}

}  // namespace winnow::retrieval
