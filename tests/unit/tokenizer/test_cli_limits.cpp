// Input limits through `winnow tokenize` (hardening): an input line over the CLI's JSONL line limit
// and a text over the tokenizer's max_input_bytes both stop the command with exit code 7 (TooLarge)
// and a message naming the limit, instead of reading or tokenizing without bound.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/run_command.h"
namespace {

namespace fs = std::filesystem;

using Result = winnow::testing::CommandResult;

Result tokenize_file(const std::string& input_path) {
    return winnow::testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow tokenize --tokenizer ") +
                                        WINNOW_SHARED_DIR + "/data/tokenizers/all-MiniLM-L6-v2 < " + input_path +
                                        " 2>&1");
}

struct TempFile {
    fs::path path = fs::temp_directory_path() / ("winnow_cli_limits_" + std::to_string(::getpid()) + ".jsonl");
    ~TempFile() { fs::remove(path); }
};

TEST(TokenizeCliLimits, LineOverTheJsonlLimitIsTooLarge) {
    TempFile f;
    {
        std::ofstream out(f.path, std::ios::binary);
        out << "{\"text\": \"short\"}\n{\"text\": \"" << std::string((std::size_t{64} << 20) + 16, 'a') << "\"}\n";
    }
    const Result r = tokenize_file(f.path.string());
    EXPECT_EQ(r.status, 7) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("stdin line 2: longer than the limit of 67108864 bytes"), std::string::npos)
        << r.out.substr(r.out.size() > 300 ? r.out.size() - 300 : 0);
}

TEST(TokenizeCliLimits, TextOverTheTokenizerLimitIsTooLarge) {
    TempFile f;
    {
        std::ofstream out(f.path, std::ios::binary);
        out << "{\"text\": \"" << std::string((std::size_t{16} << 20) + 1, 'a') << "\"}\n";
    }
    const Result r = tokenize_file(f.path.string());
    EXPECT_EQ(r.status, 7) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("max_input_bytes"), std::string::npos) << r.out.substr(0, 300);
}

}  // namespace
