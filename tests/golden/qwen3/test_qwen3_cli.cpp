// The CLI end to end on the qwen3 fixture: `winnow logits` reproduces the reference numbers;
// `winnow rerank` and `winnow embed` pick the LLM reranker/embedder from the folder.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/json.h"
#include "support/run_command.h"
#include "llm_test_folder.h"

namespace winnow {
namespace {

using Result = testing::CommandResult;

// Runs the built binary with `input` on stdin (through a file: inputs hold quotes and newlines).
Result run(const std::string& input, const std::string& args) {
    const auto in_path =
        std::filesystem::temp_directory_path() / ("winnow_qwen3_stdin_" + std::to_string(::getpid()) + ".jsonl");
    std::ofstream(in_path) << input;
    const std::string cmd =
        std::string(WINNOW_BINARY_DIR) + "/winnow " + args + " < " + in_path.string() + " 2>/dev/null";
    const Result r = testing::run_command(cmd);
    std::filesystem::remove(in_path);
    return r;
}

std::vector<Json> lines(const std::string& out) {
    std::vector<Json> rows;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) rows.push_back(Json::parse(line));
    }
    return rows;
}

TEST(Qwen3Cli, LogitsMatchTheReference) {
    const Json ref = load_json_file(test::kQwen3Fixture + "/expected_logits.json");
    std::string input;
    for (const auto& c : ref["cases"]) input += Json{{"input_ids", c["input_ids"]}}.dump() + "\n";
    const Result r = run(input, "logits --model " + test::kQwen3Fixture);
    ASSERT_EQ(r.status, 0) << r.out.substr(0, 500);
    const auto rows = lines(r.out);
    ASSERT_EQ(rows.size(), ref["cases"].size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& expected = ref["cases"][i];
        ASSERT_EQ(rows[i]["last_logits"].size(), expected["last_logits"].size());
        ASSERT_EQ(rows[i]["last_hidden"].size(), expected["last_hidden"].size());
        float worst = 0.0f;
        for (std::size_t v = 0; v < expected["last_logits"].size(); ++v) {
            worst = std::max(
                worst, std::abs(rows[i]["last_logits"][v].get<float>() - expected["last_logits"][v].get<float>()));
        }
        for (std::size_t c = 0; c < expected["last_hidden"].size(); ++c) {
            worst = std::max(
                worst, std::abs(rows[i]["last_hidden"][c].get<float>() - expected["last_hidden"][c].get<float>()));
        }
        EXPECT_LT(worst, 1e-4f) << "case " << i;
    }
}

TEST(Qwen3Cli, LogitsRejectBadInput) {
    EXPECT_EQ(run("{\"input_ids\": [1, 99999]}\n", "logits --model " + test::kQwen3Fixture).status, 2);
    EXPECT_EQ(run("{\"ids\": [1]}\n", "logits --model " + test::kQwen3Fixture).status, 2);
    EXPECT_EQ(
        run("{\"input_ids\": [1]}\n", "logits --model " + std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce")
            .status,
        4);
    EXPECT_EQ(run("", "logits").status, 2);  // --model is required
}

TEST(Qwen3Cli, RerankAndEmbedUseTheLlmImplementations) {
    const std::string folder = test::make_qwen3_llm_folder("cli");
    const std::string docs =
        "{\"text\": \"The capital of China is Beijing.\"}\n{\"text\": \"Gravity is a force.\"}\n{\"text\": \"\"}\n";
    const Result ranked = run(docs, "rerank --model " + folder + " --query \"What is the capital of China?\"");
    ASSERT_EQ(ranked.status, 0) << ranked.out;
    const auto rows = lines(ranked.out);
    ASSERT_EQ(rows.size(), 3u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const float raw = rows[i]["raw_score"].get<float>();
        EXPECT_NEAR(rows[i]["score"].get<float>(), 1.0f / (1.0f + std::exp(-raw)), 1e-5f);
        if (i > 0) {
            EXPECT_GE(rows[i - 1]["score"].get<float>(), rows[i]["score"].get<float>());
        }
    }
    const Result embedded = run(docs, "embed --model " + folder + " --query --dimensions 16");
    ASSERT_EQ(embedded.status, 0) << embedded.out;
    const auto vectors = lines(embedded.out);
    ASSERT_EQ(vectors.size(), 3u);
    for (const auto& v : vectors) {
        ASSERT_EQ(v["embedding"].size(), 16u);
        double sq = 0.0;
        for (const auto& x : v["embedding"]) sq += x.get<double>() * x.get<double>();
        EXPECT_NEAR(sq, 1.0, 1e-4);
    }
    std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace winnow
