#include "index/manifest.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/log.h"

namespace winnow::index {
namespace fs = std::filesystem;

std::string Manifest::to_json() const {
    nlohmann::json j;
    j["format"] = kFormat;
    j["generation"] = generation;
    j["max_chunk_id"] = max_chunk_id;
    j["next_file"] = next_file;
    j["analyzer"] = analyzer;
    auto& segs = j["segments"] = nlohmann::json::array();
    for (const auto& s : segments) {
        segs.push_back({{"name", s.name},
                        {"doc_count", s.doc_count},
                        {"deleted", s.deleted},
                        {"live_docs", s.live_docs},
                        {"dense", s.dense},
                        {"min_chunk_id", s.min_chunk_id},
                        {"max_chunk_id", s.max_chunk_id}});
    }
    return j.dump(1) + "\n";
}

namespace {

// A file name the manifest may refer to: no directory part, no leading dot.
bool plain_name(const std::string& name) {
    return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos;
}

}  // namespace

std::optional<Manifest> Manifest::parse(std::string_view text) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (!j.is_object() || j.value("format", 0) != kFormat) return std::nullopt;
        Manifest m;
        m.generation = j.at("generation").get<std::int64_t>();
        m.max_chunk_id = j.at("max_chunk_id").get<std::int64_t>();
        m.next_file = j.at("next_file").get<std::uint64_t>();
        m.analyzer = j.at("analyzer").get<std::string>();
        for (const auto& s : j.at("segments")) {
            SegmentEntry e;
            e.name = s.at("name").get<std::string>();
            e.doc_count = s.at("doc_count").get<std::uint32_t>();
            e.deleted = s.at("deleted").get<std::uint32_t>();
            e.live_docs = s.at("live_docs").get<std::string>();
            e.dense = s.at("dense").get<bool>();
            e.min_chunk_id = s.at("min_chunk_id").get<std::int64_t>();
            e.max_chunk_id = s.at("max_chunk_id").get<std::int64_t>();
            if (!plain_name(e.name) || (!e.live_docs.empty() && !plain_name(e.live_docs)) || e.deleted > e.doc_count) {
                return std::nullopt;
            }
            m.segments.push_back(std::move(e));
        }
        return m;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

std::optional<Manifest> Manifest::load(const std::string& dir) {
    const std::string path = (fs::path(dir) / kFileName).string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    auto m = parse(ss.str());
    if (!m) log::warn("{}: not a segment manifest of format {}; the index is rebuilt", path, kFormat);
    return m;
}

void Manifest::save(const std::string& dir) const {
    write_file_atomic((fs::path(dir) / kFileName).string(), to_json());
}

std::uint64_t Manifest::live_count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& s : segments) n += s.live();
    return n;
}

}  // namespace winnow::index
