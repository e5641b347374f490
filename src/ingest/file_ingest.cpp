#include "ingest/file_ingest.h"

#include <charconv>
#include <mutex>

#include "core/log.h"
#include "ingest/corpus_reader.h"
#include "models/model_path.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow::ingest {
namespace {

IndexDocument to_index_document(const ingest::Document& d) {
    IndexDocument doc;
    doc.id = d.id;
    doc.title = d.title;
    doc.text = d.text;
    doc.metadata_json = d.metadata_json;
    doc.source_path = d.source_path;
    return doc;
}

std::vector<ChunkText> to_chunk_texts(const std::vector<ingest::Chunk>& chunks) {
    std::vector<ChunkText> out;
    out.reserve(chunks.size());
    for (const auto& c : chunks) out.push_back({c.begin, c.end, c.text});
    return out;
}

ingest::ChunkOptions parse_chunk_params(std::string_view params, std::string& model) {
    ingest::ChunkOptions o;
    while (!params.empty()) {
        const auto comma = params.find(',');
        std::string_view kv = params.substr(0, comma);
        params = comma == std::string_view::npos ? std::string_view() : params.substr(comma + 1);
        while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
        const auto eq = kv.find('=');
        WINNOW_CHECK(eq != std::string_view::npos, Errc::InvalidArgument, "structured chunker: '{}' is not key=value", kv);
        const std::string_view key = kv.substr(0, eq);
        const std::string_view value = kv.substr(eq + 1);
        if (key == "model") {
            model = std::string(value);
            continue;
        }
        std::size_t v = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        WINNOW_CHECK(ec == std::errc() && ptr == value.data() + value.size(), Errc::InvalidArgument,
                     "structured chunker: {} = '{}' is not a number", key, value);
        if (key == "size") o.size_tokens = v;
        else if (key == "overlap") o.overlap_tokens = v;
        else WINNOW_THROW(Errc::InvalidArgument, "structured chunker: unknown parameter '{}' (size, overlap, model)", key);
    }
    return o;
}

std::optional<ingest::CorpusDocument> extract(const std::string& path) {
    auto docs = ingest::read_file(path);
    if (docs.empty()) return std::nullopt;
    ingest::CorpusDocument c;
    c.id = docs[0].id;
    c.title = docs[0].title;
    c.text = std::move(docs[0].text);
    c.metadata_json = docs[0].metadata_json;
    c.source_path = docs[0].source_path;
    return c;
}

}  // namespace

ingest::TokenCounter make_token_counter(const std::string& tokenizer_model) {
    if (tokenizer_model.empty()) return ingest::TokenCounter::approximate();
    auto tok = std::make_shared<const Tokenizer>(Tokenizer::from_file(resolve_model_path(tokenizer_model)));
    return ingest::TokenCounter::from_tokenizer(std::move(tok));
}

FileIngestResult ingest_files(Index& index, const std::vector<std::string>& paths, const FileIngestOptions& options,
                              std::shared_ptr<const Embedder> embedder) {
    const ingest::TokenCounter counter = make_token_counter(options.tokenizer_model);
    WriteOptions wo;
    wo.embedder = std::move(embedder);
    auto writer = index.writer(wo);
    FileIngestResult result;
    result.read = ingest::read_paths(paths, options.read, [&](ingest::Document&& d) {
        auto chunks = ingest::chunk_document(d, options.chunk, counter);
        result.chunks += chunks.size();
        writer->upsert(to_index_document(d), to_chunk_texts(chunks));
    });
    result.index = writer->finish();
    return result;
}

void register_ingest_plugins() {
    static std::once_flag once;
    std::call_once(once, [] {
        register_chunker("structured", [](std::string_view params) -> Chunker {
            std::string model;
            const ingest::ChunkOptions options = parse_chunk_params(params, model);
            auto counter = std::make_shared<ingest::TokenCounter>(make_token_counter(model));
            return [options, counter](const IndexDocument& doc) {
                const ingest::Format f = ingest::detect_format(doc.source_path);
                ingest::Document parsed = f == ingest::Format::Markdown ? ingest::parse_markdown(doc.text, doc.source_path)
                                                                        : ingest::parse_text(doc.text, doc.source_path);
                parsed.title = doc.title;
                return to_chunk_texts(ingest::chunk_document(parsed, options, *counter));
            };
        });
        for (const char* ext : {".html", ".htm", ".xhtml", ".pdf"}) ingest::register_file_extractor(ext, extract);
    });
}

}  // namespace winnow::ingest
