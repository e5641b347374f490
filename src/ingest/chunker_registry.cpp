// The chunker registry of include/winnow/index.h (register_chunker, make_chunker): the built-ins
// "document" (the index's one chunk per document) and "paragraph"; ingest/file_ingest.cpp adds
// "structured".
#include <charconv>
#include <map>
#include <mutex>

#include "index/document_chunker.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow {

namespace {

std::map<std::string, ChunkerFactory>& chunker_registry() {
    static std::map<std::string, ChunkerFactory> registry;
    return registry;
}
std::mutex& chunker_mutex() {
    static std::mutex m;
    return m;
}

std::size_t parse_size_param(std::string_view params, std::string_view key, std::size_t fallback) {
    std::string_view s = params;
    while (!s.empty()) {
        const auto comma = s.find(',');
        std::string_view kv = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
        const auto eq = kv.find('=');
        WINNOW_CHECK(eq != std::string_view::npos, Errc::InvalidArgument, "chunker parameters '{}': expected key=value",
                     params);
        if (kv.substr(0, eq) != key) {
            WINNOW_THROW(Errc::InvalidArgument, "chunker parameters '{}': unknown key '{}'", params, kv.substr(0, eq));
        }
        std::size_t v = 0;
        const auto value = kv.substr(eq + 1);
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        WINNOW_CHECK(ec == std::errc() && ptr == value.data() + value.size() && v > 0, Errc::InvalidArgument,
                     "chunker parameters '{}': '{}' is not a positive integer", params, value);
        fallback = v;
    }
    return fallback;
}

std::vector<ChunkText> paragraph_chunker(const IndexDocument& doc, std::size_t max_chars) {
    // Paragraph spans: separated by blank lines.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> paras;
    const std::string& t = doc.text;
    std::size_t pos = 0;
    std::size_t para_begin = std::string::npos;
    std::size_t para_end = 0;
    while (pos <= t.size()) {
        std::size_t nl = t.find('\n', pos);
        if (nl == std::string::npos) nl = t.size();
        const bool blank = t.find_first_not_of(" \t\r", pos) >= nl;
        if (blank) {
            if (para_begin != std::string::npos) paras.emplace_back(para_begin, para_end);
            para_begin = std::string::npos;
        } else {
            if (para_begin == std::string::npos) para_begin = pos;
            para_end = nl;
        }
        pos = nl + 1;
    }
    if (para_begin != std::string::npos) paras.emplace_back(para_begin, para_end);
    std::vector<ChunkText> out;
    if (paras.empty()) return index::document_chunks(doc);
    std::size_t i = 0;
    while (i < paras.size()) {
        const std::uint32_t begin = paras[i].first;
        std::uint32_t end = paras[i].second;
        ++i;
        while (i < paras.size() && paras[i].second - begin <= max_chars) {
            end = paras[i].second;
            ++i;
        }
        ChunkText c;
        c.begin = begin;
        c.end = end;
        c.text = doc.title.empty() ? t.substr(begin, end - begin) : doc.title + "\n\n" + t.substr(begin, end - begin);
        out.push_back(std::move(c));
    }
    return out;
}

void register_builtin_chunkers() {
    static std::once_flag once;
    std::call_once(once, [] {
        auto& r = chunker_registry();
        r.emplace("document", [](std::string_view params) -> Chunker {
            WINNOW_CHECK(params.empty(), Errc::InvalidArgument, "chunker 'document' takes no parameters");
            return index::document_chunks;
        });
        r.emplace("paragraph", [](std::string_view params) -> Chunker {
            const std::size_t max_chars = parse_size_param(params, "max_chars", 1500);
            return [max_chars](const IndexDocument& d) { return paragraph_chunker(d, max_chars); };
        });
    });
}

}  // namespace

void register_chunker(std::string name, ChunkerFactory factory) {
    register_builtin_chunkers();
    std::scoped_lock lock(chunker_mutex());
    chunker_registry()[std::move(name)] = std::move(factory);
}

Chunker make_chunker(std::string_view spec) {
    register_builtin_chunkers();
    std::string_view name = spec;
    std::string_view params;
    if (const auto p = spec.find('('); p != std::string_view::npos) {
        WINNOW_CHECK(spec.back() == ')', Errc::InvalidArgument, "chunker '{}': missing ')'", spec);
        name = spec.substr(0, p);
        params = spec.substr(p + 1, spec.size() - p - 2);
    }
    ChunkerFactory factory;
    {
        std::scoped_lock lock(chunker_mutex());
        auto it = chunker_registry().find(std::string(name));
        if (it != chunker_registry().end()) factory = it->second;
    }
    if (!factory) {
        std::string known;
        for (const auto& n : chunker_names()) known += (known.empty() ? "" : ", ") + n;
        WINNOW_THROW(Errc::InvalidArgument, "unknown chunker '{}' (known: {})", name, known);
    }
    return factory(params);
}

std::vector<std::string> chunker_names() {
    register_builtin_chunkers();
    std::scoped_lock lock(chunker_mutex());
    std::vector<std::string> out;
    for (const auto& [name, f] : chunker_registry()) out.push_back(name);
    return out;
}

}  // namespace winnow
