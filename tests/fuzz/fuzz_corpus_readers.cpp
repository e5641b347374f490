// libFuzzer target for the corpus readers: BEIR JSONL, TREC and SMART files (plain and detected),
// and the ingest JSONL record parser. The readers take paths, so each input is written to a
// per-process scratch file first. Bad records must be skipped or give winnow::Error, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/corpus_reader.h"
#include "ingest/reader.h"
#include "winnow/error.h"

namespace {

std::string scratch_path(const char* ext) {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/winnow_fuzz_corpus_" + std::to_string(::getpid()) + ext;
}

bool write_file(const std::string& path, std::string_view bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    using namespace winnow::ingest;
    try {
        const unsigned mode = data[0] % 5;
        if (mode == 4) {
            IngestSummary summary;
            for (const auto& d : parse_jsonl(input, "fuzz.jsonl", &summary)) {
                if (d.id.empty() && d.text.empty() && d.title.empty()) continue;
            }
            return 0;
        }
        static const CorpusFormat kFormats[] = {CorpusFormat::Beir, CorpusFormat::Trec, CorpusFormat::Smart,
                                                CorpusFormat::Auto};
        static const char* kExts[] = {".jsonl", ".trec", ".all", ".txt"};
        const std::string path = scratch_path(kExts[mode]);
        if (!write_file(path, input)) return 0;
        std::size_t n = 0;
        const CorpusStats stats = read_corpus(path, kFormats[mode], [&](CorpusDocument&& doc) {
            ++n;
            (void)doc;
        });
        if (stats.documents != n) std::abort();
        std::remove(path.c_str());
    } catch (const winnow::Error&) {
    }
    return 0;
}
