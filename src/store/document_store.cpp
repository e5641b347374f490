#include "store/document_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "winnow/error.h"

namespace winnow::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    rowid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    source_path TEXT NOT NULL,
    content_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_source_path ON documents(source_path);
CREATE TABLE IF NOT EXISTS chunks(
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_rowid INTEGER NOT NULL REFERENCES documents(rowid),
    ordinal INTEGER NOT NULL,
    begin_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB);
CREATE INDEX IF NOT EXISTS chunks_doc_rowid ON chunks(doc_rowid);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', '0');
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
)sql";

// A prepared statement that finalizes itself; parameters are 1-based as in SQLite.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql, const std::string& where) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
            WINNOW_THROW(Errc::Corrupt, "{}: cannot prepare statement: {}", where, sqlite3_errmsg(db));
        }
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, std::string_view text) {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t value) {
        sqlite3_bind_int64(stmt_, i, value);
        return *this;
    }
    Stmt& bind_blob(int i, const void* data, std::size_t size) {
        if (size == 0) {
            sqlite3_bind_null(stmt_, i);
        } else {
            sqlite3_bind_blob(stmt_, i, data, static_cast<int>(size), SQLITE_TRANSIENT);
        }
        return *this;
    }
    // True when a row is available; false when done. Throws on error.
    bool step(const std::string& where) {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        const Errc code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? Errc::Timeout
                          : (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) ? Errc::Corrupt
                                                                          : Errc::Io;
        WINNOW_THROW(code, "{}: {}", where, sqlite3_errmsg(db_));
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    std::span<const float> floats(int col) const {
        const void* p = sqlite3_column_blob(stmt_, col);
        const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
        return {static_cast<const float*>(p), n / sizeof(float)};
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

void fnv_mix(std::uint64_t& h, std::string_view bytes) {
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    // Field separator so ("ab","c") and ("a","bc") differ.
    h ^= 0xff;
    h *= 0x100000001b3ULL;
}

}  // namespace

std::string content_hash(const Document& doc, std::span<const ChunkSpan> chunks) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    fnv_mix(h, doc.title);
    fnv_mix(h, doc.text);
    fnv_mix(h, doc.metadata_json);
    for (const auto& c : chunks) {
        fnv_mix(h, c.text);
        fnv_mix(h, std::to_string(c.begin) + ":" + std::to_string(c.end));
    }
    return fmt::format("{:016x}", h);
}

DocumentStore::DocumentStore(const std::string& dir, bool create) {
    namespace fs = std::filesystem;
    path_ = (fs::path(dir) / "store.sqlite").string();
    if (!create) {
        WINNOW_CHECK(fs::exists(path_), Errc::NotFound, "{}: no index here (missing store.sqlite)", dir);
    } else {
        std::error_code ec;
        fs::create_directories(dir, ec);
        WINNOW_CHECK(!ec, Errc::Io, "{}: cannot create index directory: {}", dir, ec.message());
    }
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        WINNOW_THROW(Errc::Io, "{}: cannot open: {}", path_, msg);
    }
    sqlite3_busy_timeout(db_, 10000);
    try {
        exec("PRAGMA synchronous=NORMAL");
        exec("PRAGMA foreign_keys=ON");
        // A store that is complete is only read here: no statement may need the write lock, or
        // opening an index (a server, a search) would wait for a running ingest to commit.
        if (!schema_complete()) create_schema();
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

void DocumentStore::create_schema() {
    // Another process may be creating or opening the same new store at this moment (a server
    // starting while `winnow index` creates the index). Switching to WAL needs the file to itself
    // and SQLite answers SQLITE_BUSY at once rather than waiting: retry for up to 10 s. Then the
    // schema goes in as one write transaction, which waits for the write lock.
    for (int attempt = 0;; ++attempt) {
        const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) break;
        const bool busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
        if (!busy || attempt >= 1000) {
            WINNOW_THROW(busy ? Errc::Timeout : Errc::Io, "{}: cannot switch to WAL mode: {}", path_,
                         sqlite3_errmsg(db_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exec("BEGIN IMMEDIATE");
    try {
        exec(kSchema);
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

bool DocumentStore::schema_complete() const {
    // The last statements of kSchema write the meta rows: a store killed while being created has
    // some of the tables but not these rows, and is completed by running the schema again.
    Stmt s(db_,
           "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'documents', "
           "'chunks')), (SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal')",
           path_);
    if (!s.step(path_) || s.int64(0) != 3 || s.int64(1) != 1) return false;
    Stmt m(db_, "SELECT COUNT(*) FROM meta WHERE key IN ('generation', 'schema_version')", path_);
    return m.step(path_) && m.int64(0) == 2;
}

DocumentStore::~DocumentStore() {
    if (in_transaction_) rollback();
    sqlite3_close(db_);
}

void DocumentStore::exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        const int rc = sqlite3_errcode(db_);
        const Errc code = (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) ? Errc::Corrupt
                          : rc == SQLITE_BUSY                           ? Errc::Timeout
                                                                        : Errc::Io;
        WINNOW_THROW(code, "{}: {}", path_, msg);
    }
}

void DocumentStore::begin() {
    WINNOW_ASSERT(!in_transaction_);
    exec("BEGIN IMMEDIATE");
    in_transaction_ = true;
    dirty_ = false;
}

void DocumentStore::commit() {
    WINNOW_ASSERT(in_transaction_);
    if (dirty_) bump_generation();
    exec("COMMIT");
    in_transaction_ = false;
    dirty_ = false;
}

void DocumentStore::rollback() noexcept {
    if (!in_transaction_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    in_transaction_ = false;
    dirty_ = false;
}

void DocumentStore::write_begin() {
    if (!in_transaction_) {
        exec("BEGIN IMMEDIATE");
    }
}

void DocumentStore::write_end() {
    if (!in_transaction_) {
        try {
            bump_generation();
            exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    } else {
        dirty_ = true;
    }
}

void DocumentStore::bump_generation() {
    exec("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'");
}

std::optional<std::string> DocumentStore::hash_of(std::string_view doc_id) const {
    Stmt s(db_, "SELECT content_hash FROM documents WHERE doc_id = ?", path_);
    s.bind(1, doc_id);
    if (!s.step(path_)) return std::nullopt;
    return s.text(0);
}

UpsertResult DocumentStore::upsert(const Document& doc, std::span<const ChunkSpan> chunks,
                                   std::span<const std::vector<float>> embeddings) {
    WINNOW_CHECK(!doc.id.empty(), Errc::InvalidArgument, "{}: document with an empty id", path_);
    WINNOW_CHECK(embeddings.empty() || embeddings.size() == chunks.size(), Errc::InvalidArgument,
                 "{}: document '{}': {} embeddings for {} chunks", path_, doc.id, embeddings.size(), chunks.size());
    const std::string hash = content_hash(doc, chunks);
    std::int64_t rowid = 0;
    {
        Stmt s(db_, "SELECT rowid, content_hash FROM documents WHERE doc_id = ?", path_);
        s.bind(1, doc.id);
        if (s.step(path_)) {
            if (s.text(1) == hash) return UpsertResult::Unchanged;
            rowid = s.int64(0);
        }
    }
    const bool replaced = rowid != 0;
    const bool own = !in_transaction_;
    write_begin();
    try {
        const std::string meta = doc.metadata_json.empty() ? std::string("{}") : doc.metadata_json;
        if (replaced) {
            Stmt del(db_, "DELETE FROM chunks WHERE doc_rowid = ?", path_);
            del.bind(1, rowid);
            del.step(path_);
            Stmt up(db_,
                    "UPDATE documents SET title = ?, text = ?, metadata = ?, source_path = ?, content_hash = ? "
                    "WHERE rowid = ?",
                    path_);
            up.bind(1, doc.title).bind(2, doc.text).bind(3, meta).bind(4, doc.source_path).bind(5, hash).bind(6, rowid);
            up.step(path_);
        } else {
            Stmt ins(db_,
                     "INSERT INTO documents(doc_id, title, text, metadata, source_path, content_hash) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     path_);
            ins.bind(1, doc.id).bind(2, doc.title).bind(3, doc.text).bind(4, meta).bind(5, doc.source_path).bind(6, hash);
            ins.step(path_);
            rowid = sqlite3_last_insert_rowid(db_);
        }
        Stmt ins(db_,
                 "INSERT INTO chunks(doc_rowid, ordinal, begin_char, end_char, text, embedding) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 path_);
        for (std::size_t i = 0; i < chunks.size(); ++i) {
            const auto& c = chunks[i];
            ins.reset();
            ins.bind(1, rowid).bind(2, static_cast<std::int64_t>(i)).bind(3, static_cast<std::int64_t>(c.begin));
            ins.bind(4, static_cast<std::int64_t>(c.end)).bind(5, c.text);
            if (embeddings.empty()) {
                ins.bind_blob(6, nullptr, 0);
            } else {
                ins.bind_blob(6, embeddings[i].data(), embeddings[i].size() * sizeof(float));
            }
            ins.step(path_);
        }
    } catch (...) {
        if (own) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    write_end();
    return replaced ? UpsertResult::Replaced : UpsertResult::Added;
}

bool DocumentStore::remove(std::string_view doc_id) {
    const bool own = !in_transaction_;
    write_begin();
    bool existed = false;
    try {
        std::int64_t rowid = 0;
        {
            Stmt s(db_, "SELECT rowid FROM documents WHERE doc_id = ?", path_);
            s.bind(1, doc_id);
            if (s.step(path_)) rowid = s.int64(0);
        }
        if (rowid != 0) {
            existed = true;
            Stmt del(db_, "DELETE FROM chunks WHERE doc_rowid = ?", path_);
            del.bind(1, rowid);
            del.step(path_);
            Stmt deld(db_, "DELETE FROM documents WHERE rowid = ?", path_);
            deld.bind(1, rowid);
            deld.step(path_);
        }
    } catch (...) {
        if (own) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    if (!existed && own) {
        exec("ROLLBACK");
        return false;
    }
    if (existed) write_end();
    return existed;
}

std::size_t DocumentStore::remove_by_path(std::string_view path) {
    std::vector<std::string> ids;
    {
        Stmt s(db_, "SELECT doc_id FROM documents WHERE source_path = ?", path_);
        s.bind(1, path);
        while (s.step(path_)) ids.push_back(s.text(0));
    }
    if (ids.empty()) return 0;
    const bool own = !in_transaction_;
    if (own) begin();
    try {
        for (const auto& id : ids) remove(id);
    } catch (...) {
        if (own) rollback();
        throw;
    }
    if (own) commit();
    return ids.size();
}

std::optional<StoredDocument> DocumentStore::document(std::string_view doc_id) const {
    Stmt s(db_,
           "SELECT rowid, doc_id, title, text, metadata, source_path, content_hash, "
           "(SELECT COUNT(*) FROM chunks WHERE doc_rowid = documents.rowid) FROM documents WHERE doc_id = ?",
           path_);
    s.bind(1, doc_id);
    if (!s.step(path_)) return std::nullopt;
    StoredDocument d;
    d.rowid = s.int64(0);
    d.doc.id = s.text(1);
    d.doc.title = s.text(2);
    d.doc.text = s.text(3);
    d.doc.metadata_json = s.text(4);
    d.doc.source_path = s.text(5);
    d.content_hash = s.text(6);
    d.n_chunks = s.int64(7);
    return d;
}

namespace {
constexpr const char* kChunkSelect =
    "SELECT c.chunk_id, c.doc_rowid, d.doc_id, c.ordinal, c.begin_char, c.end_char, c.text "
    "FROM chunks c JOIN documents d ON d.rowid = c.doc_rowid ";

Chunk read_chunk(const Stmt& s) {
    Chunk c;
    c.chunk_id = s.int64(0);
    c.doc_rowid = s.int64(1);
    c.doc_id = s.text(2);
    c.ordinal = static_cast<std::uint32_t>(s.int64(3));
    c.begin = static_cast<std::uint32_t>(s.int64(4));
    c.end = static_cast<std::uint32_t>(s.int64(5));
    c.text = s.text(6);
    return c;
}
}  // namespace

std::optional<Chunk> DocumentStore::chunk(std::int64_t chunk_id) const {
    Stmt s(db_, (std::string(kChunkSelect) + "WHERE c.chunk_id = ?").c_str(), path_);
    s.bind(1, chunk_id);
    if (!s.step(path_)) return std::nullopt;
    return read_chunk(s);
}

std::vector<Chunk> DocumentStore::chunks(std::span<const std::int64_t> chunk_ids) const {
    std::vector<Chunk> out;
    out.reserve(chunk_ids.size());
    Stmt s(db_, (std::string(kChunkSelect) + "WHERE c.chunk_id = ?").c_str(), path_);
    for (std::int64_t id : chunk_ids) {
        s.reset();
        s.bind(1, id);
        if (s.step(path_)) out.push_back(read_chunk(s));
    }
    return out;
}

std::int64_t DocumentStore::document_count() const {
    Stmt s(db_, "SELECT COUNT(*) FROM documents", path_);
    s.step(path_);
    return s.int64(0);
}

std::int64_t DocumentStore::chunk_count() const {
    Stmt s(db_, "SELECT COUNT(*) FROM chunks", path_);
    s.step(path_);
    return s.int64(0);
}

std::int64_t DocumentStore::generation() const {
    Stmt s(db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'", path_);
    WINNOW_CHECK(s.step(path_), Errc::Corrupt, "{}: missing generation", path_);
    return s.int64(0);
}

void DocumentStore::for_each_chunk(const std::function<void(const Chunk&)>& fn, std::int64_t after) const {
    Stmt s(db_, (std::string(kChunkSelect) + "WHERE c.chunk_id > ? ORDER BY c.chunk_id").c_str(), path_);
    s.bind(1, after);
    while (s.step(path_)) fn(read_chunk(s));
}

void DocumentStore::for_each_chunk_id(const std::function<void(std::int64_t chunk_id)>& fn, std::int64_t after) const {
    Stmt s(db_, "SELECT chunk_id FROM chunks WHERE chunk_id > ? ORDER BY chunk_id", path_);
    s.bind(1, after);
    while (s.step(path_)) fn(s.int64(0));
}

std::int64_t DocumentStore::max_chunk_id() const {
    // AUTOINCREMENT's high-water mark: ids of chunks since removed count too.
    Stmt s(db_, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'chunks'), 0)", path_);
    s.step(path_);
    return s.int64(0);
}

void DocumentStore::with_snapshot(const std::function<void()>& fn) const {
    if (in_transaction_ || snapshot_depth_ > 0) {  // nested: the enclosing transaction is the snapshot
        fn();
        return;
    }
    exec("BEGIN");
    ++snapshot_depth_;
    try {
        fn();
    } catch (...) {
        --snapshot_depth_;
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    --snapshot_depth_;
    exec("COMMIT");
}

void DocumentStore::for_each_chunk_doc(
    const std::function<void(std::int64_t chunk_id, const std::string& doc_id)>& fn, std::int64_t after) const {
    Stmt s(db_,
           "SELECT c.chunk_id, d.doc_id FROM chunks c JOIN documents d ON d.rowid = c.doc_rowid WHERE c.chunk_id > ? "
           "ORDER BY c.chunk_id",
           path_);
    s.bind(1, after);
    std::string id;
    while (s.step(path_)) {
        id = s.text(1);
        fn(s.int64(0), id);
    }
}

void DocumentStore::for_each_embedding(
    const std::function<void(std::int64_t chunk_id, std::span<const float>)>& fn, std::int64_t after) const {
    Stmt s(db_, "SELECT chunk_id, embedding FROM chunks WHERE embedding IS NOT NULL AND chunk_id > ? ORDER BY chunk_id",
           path_);
    s.bind(1, after);
    while (s.step(path_)) fn(s.int64(0), s.floats(1));
}

std::vector<std::string> DocumentStore::source_paths() const {
    std::vector<std::string> out;
    Stmt s(db_, "SELECT DISTINCT source_path FROM documents WHERE source_path <> '' ORDER BY source_path", path_);
    while (s.step(path_)) out.push_back(s.text(0));
    return out;
}

std::optional<std::string> DocumentStore::setting(std::string_view key) const {
    Stmt s(db_, "SELECT value FROM meta WHERE key = ?", path_);
    s.bind(1, std::string("setting.") + std::string(key));
    if (!s.step(path_)) return std::nullopt;
    return s.text(0);
}

void DocumentStore::set_setting(std::string_view key, std::string_view value) {
    const bool own = !in_transaction_;
    write_begin();
    try {
        Stmt s(db_, "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               path_);
        s.bind(1, std::string("setting.") + std::string(key)).bind(2, value);
        s.step(path_);
    } catch (...) {
        if (own) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    write_end();
}

}  // namespace winnow::store
