// libFuzzer target for the tokenizer: the loader (arbitrary tokenizer.json text) and the encoder
// (arbitrary text through real tokenizers). Bad input must give winnow::Error, never a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "winnow/error.h"
#include "winnow/tokenizer.h"

#ifndef WINNOW_SHARED_DIR
#define WINNOW_SHARED_DIR "../shared"
#endif

namespace {

const std::vector<winnow::Tokenizer>& real_tokenizers() {
    static const std::vector<winnow::Tokenizer> toks = [] {
        std::vector<winnow::Tokenizer> v;
        const std::string base = WINNOW_SHARED_DIR;
        for (const char* p : {"/fixtures/tokenizers/wordpiece/tokenizer.json", "/fixtures/tokenizers/bpe/tokenizer.json",
                              "/fixtures/tokenizers/unigram/tokenizer.json",
                              "/data/tokenizers/llama-2-spm-bpe/llama_tokenizer.json",
                              "/data/tokenizers/falcon-7b/falcon_tokenizer.json"}) {
            try {
                v.push_back(winnow::Tokenizer::from_file(base + p));
            } catch (const winnow::Error&) {
            }
        }
        return v;
    }();
    return toks;
}

void exercise(const winnow::Tokenizer& t, std::string_view a, std::string_view b) {
    const winnow::Encoding e = t.encode(a);
    (void)t.decode(e.ids);
    (void)t.decode(e.ids, false);
    winnow::TruncationOptions opt;
    opt.max_length = 8 + a.size() % 24;
    opt.stride = a.size() % 3;
    opt.strategy = static_cast<winnow::TruncationStrategy>(b.size() % 3);
    opt.direction = (a.size() & 1) ? winnow::TruncationDirection::Left : winnow::TruncationDirection::Right;
    try {
        (void)t.encode_pair(a, b, opt);
    } catch (const winnow::Error&) {
        // e.g. only_second with a second sequence too short to cut
    }
    (void)t.encode_pair(a, b, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        if (data[0] & 1) {
            // Loader: the bytes are a tokenizer.json.
            const winnow::Tokenizer t = winnow::Tokenizer::from_json(input, "fuzz.json");
            exercise(t, "Hello, world! caf\xC3\xA9 \xE4\xB8\xAD 123", "a b");
        } else {
            const auto& toks = real_tokenizers();
            if (toks.empty()) return 0;
            const std::size_t half = input.size() / 2;
            exercise(toks[data[0] / 2 % toks.size()], input.substr(0, half), input.substr(half));
        }
    } catch (const winnow::Error&) {
    }
    return 0;
}
