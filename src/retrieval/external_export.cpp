// What the exporters share: walking an index's chunks in batches, and the `--to` target syntax.
#include <algorithm>

#include "retrieval/external_engine.h"
#include "store/document_store.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::retrieval {

void for_each_index_chunk(const Index& index, const std::function<void(std::vector<Candidate>&)>& batch_fn,
                          std::size_t batch_size) {
    // The ids from the store (a second read-only connection), the chunks' documents, text and span
    // through Index::hits, one batch at a time.
    std::vector<std::int64_t> ids;
    {
        const store::DocumentStore store(index.dir(), false);
        ids.reserve(static_cast<std::size_t>(store.chunk_count()));
        store.for_each_chunk_doc([&](std::int64_t chunk_id, const std::string&) { ids.push_back(chunk_id); });
    }
    std::sort(ids.begin(), ids.end());
    for (std::size_t at = 0; at < ids.size(); at += batch_size) {
        std::vector<Candidate> scored;
        const std::size_t end = std::min(ids.size(), at + batch_size);
        scored.reserve(end - at);
        for (std::size_t i = at; i < end; ++i) {
            Candidate c;
            c.chunk_id = ids[i];
            scored.push_back(std::move(c));
        }
        std::vector<Candidate> batch = index.hits(std::move(scored), true);
        if (!batch.empty()) batch_fn(batch);
    }
}

ExportTarget parse_export_target(std::string_view text) {
    const auto colon = text.find(':');
    WINNOW_CHECK(colon != std::string_view::npos && colon > 0 && colon + 1 < text.size(), Errc::InvalidArgument,
                 "--to {}: expected xapian:DIR or elasticsearch:http://host:9200/INDEX", text);
    ExportTarget t;
    t.engine = std::string(text.substr(0, colon));
    const std::string rest(text.substr(colon + 1));
    if (t.engine == "xapian") {
        t.path = rest;
        return t;
    }
    WINNOW_CHECK(t.engine == "elasticsearch" || t.engine == "opensearch", Errc::InvalidArgument,
                 "--to {}: unknown engine '{}' (xapian, elasticsearch, opensearch)", text, t.engine);
    t.opensearch = t.engine == "opensearch";
    t.engine = "elasticsearch";
    const auto scheme = rest.find("://");
    WINNOW_CHECK(rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0, Errc::InvalidArgument,
                 "--to {}: expected an http:// or https:// URL ending in the index name", text);
    std::string url = rest;
    while (!url.empty() && url.back() == '/') url.pop_back();
    const auto slash = url.rfind('/');
    WINNOW_CHECK(slash != std::string::npos && slash > scheme + 2 && slash + 1 < url.size(), Errc::InvalidArgument,
                 "--to {}: the URL must end in the index name, e.g. elasticsearch:http://localhost:9200/chunks", text);
    t.url = url.substr(0, slash);
    t.index = url.substr(slash + 1);
    return t;
}

}  // namespace winnow::retrieval
