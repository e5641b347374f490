// Differential test on seeded random Unicode (label `slow`): every shared tokenizer file, the ids of
// Hugging Face tokenizers (npm `tokenizers`, the Rust library's Node binding; 0.23.2 when set up as
// in tests/README.md) against winnow's. random_unicode_diff.js makes the texts and HF's ids; this
// test tokenizes the same texts. Skips when node or the npm package is not installed.
//   WINNOW_HF_TOKENIZERS_DIR  folder holding node_modules/tokenizers (default /tmp/hf-tok)
//   WINNOW_DIFF_SEED, WINNOW_DIFF_COUNT  the seed (22) and texts per file (2000)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "support/run_command.h"
#include "winnow/tokenizer.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

std::string code_points(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        char32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
        for (std::size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3F);
        out += fmt::format("{}U+{:04X}", out.empty() ? "" : " ", static_cast<std::uint32_t>(cp));
        i += len;
    }
    return out;
}

// Differences understood but not fixed yet (tests/README.md): reported, not counted. Seed 22, the
// byte-level BPE fixtures (NFC + ByteLevel): U+1E4EF (a mark of Unicode 15, combining class 232)
// after U+0361 (234) is reordered before it by utf8proc's NFC; HF's normalization tables predate it
// (class 0), so HF keeps the order.
const std::set<std::string> kKnownDifferences = {
    "U+000A U+0078 U+2C60 U+002C U+CCF6 U+002D U+948B U+0325 U+ED21 U+0347 U+0361 U+1E4EF U+6D9C U+E42B U+006A "
    "U+1C512 U+0C76 U+E2CD U+A4E7 U+0057 U+FEFF U+A493 U+0DBB",
};

TEST(RandomUnicodeDiff, EverySharedTokenizerMatchesHuggingFace) {
    const std::string dir = env_or("WINNOW_HF_TOKENIZERS_DIR", "/tmp/hf-tok");
    if (!fs::exists(fs::path(dir) / "node_modules" / "tokenizers" / "package.json") ||
        testing::run_command("node --version > /dev/null 2>&1").status != 0) {
        GTEST_SKIP() << "needs node and the npm package: mkdir -p " << dir << " && cd " << dir
                     << " && npm install tokenizers@0.23.2 (or set WINNOW_HF_TOKENIZERS_DIR)";
    }
    const std::string shared = WINNOW_SHARED_DIR;
    const std::vector<std::string> files = {
        shared + "/fixtures/tokenizers/wordpiece/tokenizer.json",
        shared + "/fixtures/tokenizers/bpe/tokenizer.json",
        shared + "/fixtures/tokenizers/unigram/tokenizer.json",
        shared + "/fixtures/tokenizers/real-bert-base-uncased/tokenizer.json",
        shared + "/fixtures/tokenizers/real-all-MiniLM-L6-v2/tokenizer.json",
        shared + "/fixtures/models/bert-ce/tokenizer.json",
        shared + "/fixtures/models/bert-embed-cls/tokenizer.json",
        shared + "/fixtures/models/bert-embed-mean/tokenizer.json",
        shared + "/fixtures/models/xlmr-ce/tokenizer.json",
        shared + "/fixtures/models/modernbert-ce/tokenizer.json",
        shared + "/fixtures/models/qwen3-lm/tokenizer.json",
        shared + "/data/tokenizers/bert-base-uncased/tokenizer.json",
        shared + "/data/tokenizers/all-MiniLM-L6-v2/tokenizer.json",
        shared + "/data/tokenizers/gpt2/gpt2_tokenizer.json",
        shared + "/data/tokenizers/llama-2-spm-bpe/llama_tokenizer.json",
        shared + "/data/tokenizers/falcon-7b/falcon_tokenizer.json",
    };
    const std::string seed = env_or("WINNOW_DIFF_SEED", "22");
    const std::string count = env_or("WINNOW_DIFF_COUNT", "2000");
    std::string command = "cd '" + dir + "' && node '" WINNOW_SOURCE_DIR "/tests/golden/tokenizer/random_unicode_diff.js' " +
                          seed + " " + count;
    for (const auto& f : files) command += " '" + f + "'";
    const auto result = testing::run_command(command);
    ASSERT_EQ(result.status, 0) << result.out.substr(0, 2000);
    const Json hf = Json::parse(result.out);
    std::cout << "reference: " << hf["generator"].get<std::string>() << ", seed " << seed << ", " << count
              << " texts per file\n";
    std::size_t total = 0, differ = 0;
    for (const auto& file : files) {
        const Json& cases = hf["files"][file];
        ASSERT_TRUE(cases.is_array()) << file << ": " << cases.dump();
        const Tokenizer tok = Tokenizer::from_file(file);
        std::size_t shown = 0, here = 0;
        for (const auto& c : cases) {
            const std::string text = c["text"];
            const auto ids = tok.encode(text).ids;
            ++total;
            if (Json(ids) == c["ids"]) continue;
            if (kKnownDifferences.count(code_points(text))) {
                std::cout << "known, open difference: " << fs::path(file).parent_path().filename().string() << ": "
                          << code_points(text) << "\n";
                continue;
            }
            ++differ;
            ++here;
            if (shown++ < 5) {
                ADD_FAILURE() << file << "\n  text: " << code_points(text) << "\n  hf:     " << c["ids"].dump()
                              << "\n  winnow: " << Json(ids).dump();
            }
        }
        std::cout << fs::path(file).parent_path().filename().string() << "/" << fs::path(file).filename().string()
                  << ": " << here << " of " << cases.size() << " differ\n";
    }
    std::cout << differ << " of " << total << " texts differ\n";
    EXPECT_EQ(differ, 0u);
}

}  // namespace
}  // namespace winnow
