// The CLI end to end: `winnow rerank` and `winnow embed` over the fixture models.
#include <gtest/gtest.h>


#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"
#include "support/run_command.h"

namespace winnow {
namespace {

const std::string kModels = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/";
const std::string kWinnow = std::string(WINNOW_BINARY_DIR) + "/winnow";

struct CliRun {
    int status = -1;
    std::vector<Json> lines;  // stdout, one JSON value per line
    std::string err;
};

// Runs `winnow <args>` with `input` on stdin.
CliRun run(const std::string& args, const std::string& input) {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(std::rand());
    const auto in_path = dir / ("winnow_cli_in_" + tag);
    const auto err_path = dir / ("winnow_cli_err_" + tag);
    std::ofstream(in_path) << input;
    const std::string cmd = kWinnow + " " + args + " < " + in_path.string() + " 2> " + err_path.string();
    CliRun result;
    const testing::CommandResult ran = testing::run_command(cmd);
    result.status = ran.status;
    std::istringstream lines(ran.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty()) result.lines.push_back(Json::parse(line));
    }
    std::ifstream err_in(err_path);
    result.err.assign(std::istreambuf_iterator<char>(err_in), {});
    std::filesystem::remove(in_path);
    std::filesystem::remove(err_path);
    return result;
}

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(kWinnow)) GTEST_SKIP() << kWinnow << " not built";
    }
};

TEST_F(Cli, RerankQueryRanksLikeTheReference) {
    const Json ref = load_json_file(kModels + "bert-ce/expected_scores.json");
    std::string input;
    for (const auto& p : ref["pairs"]) input += Json{{"text", p[1]}}.dump() + "\n";
    const std::string query = ref["pairs"][0][0].get<std::string>();
    const CliRun r = run("rerank --model " + kModels + "bert-ce --precision fp32 --max-length 64 --top-n 5 --query '" + query + "'", input);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(r.lines[i]["index"].get<std::size_t>(), ref["st_rank_top5"][i]["corpus_id"].get<std::size_t>());
        EXPECT_NEAR(r.lines[i]["score"].get<double>(), ref["st_rank_top5"][i]["score"].get<double>(), 1e-5);
        EXPECT_TRUE(r.lines[i].contains("raw_score"));
    }
    const Json summary = Json::parse(r.err.substr(r.err.find('{')));
    EXPECT_EQ(summary["pairs"].get<int>(), 10);
    EXPECT_EQ(summary["max_length"].get<int>(), 64);
    EXPECT_GE(summary["truncated"].get<int>(), 1);
}

TEST_F(Cli, RerankPairsAndPretokenizedKeepInputOrder) {
    const Json ref = load_json_file(kModels + "xlmr-ce/expected_scores.json");
    std::string pairs, pretokenized;
    for (std::size_t i = 0; i < ref["pairs"].size(); ++i) {
        pairs += Json{{"query", ref["pairs"][i][0]}, {"text", ref["pairs"][i][1]}}.dump() + "\n";
        std::vector<int> ids;
        for (std::size_t t = 0; t < ref["input_ids"][i].size(); ++t) {
            if (ref["attention_mask"][i][t].get<int>() == 1) ids.push_back(ref["input_ids"][i][t].get<int>());
        }
        pretokenized += Json{{"input_ids", ids}}.dump() + "\n";
    }
    for (const auto& [args, input] : {std::pair{std::string("--pairs --max-length 64"), pairs},
                                      std::pair{std::string("--pairs --pretokenized --threads 1"), pretokenized}}) {
        const CliRun r = run("rerank --model " + kModels + "xlmr-ce --precision fp32 " + args, input);
        ASSERT_EQ(r.status, 0) << r.err;
        ASSERT_EQ(r.lines.size(), ref["logits"].size());
        for (std::size_t i = 0; i < r.lines.size(); ++i) {
            EXPECT_NEAR(r.lines[i]["raw_score"].get<double>(), ref["logits"][i].get<double>(), 1e-4) << args << " " << i;
            EXPECT_NEAR(r.lines[i]["score"].get<double>(), ref["st_predict_default"][i].get<double>(), 1e-5);
        }
    }
    const CliRun r = run("rerank --model " + kModels + "xlmr-ce --pairs --pretokenized --precision fp32", pretokenized);
    const Json stats = Json::parse(r.err.substr(r.err.find('{')));
    for (const char* key : {"pairs", "tokens", "seconds", "pairs_per_s", "precision", "threads"}) {
        EXPECT_TRUE(stats.contains(key)) << key << " in " << r.err;
    }
    EXPECT_EQ(stats["pairs"].get<int>(), 10);
    EXPECT_EQ(stats["precision"].get<std::string>(), "fp32");
}

TEST_F(Cli, Embed) {
    const Json ref = load_json_file(kModels + "bert-embed-cls/expected_embeddings.json");
    std::string input;
    for (std::size_t i = 0; i < 3; ++i) input += Json{{"text", ref["texts"][i]}}.dump() + "\n";
    const CliRun r = run("embed --model " + kModels + "bert-embed-cls --precision fp32", input);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto got = r.lines[i]["embedding"].get<std::vector<double>>();
        const auto expected = ref["embeddings"][i].get<std::vector<double>>();
        ASSERT_EQ(got.size(), expected.size());
        for (std::size_t c = 0; c < got.size(); ++c) EXPECT_NEAR(got[c], expected[c], 1e-4);
    }
}

TEST_F(Cli, MaxLengthAboveTheModelsLimitWarns) {
    const std::string pair = "{\"query\": \"q\", \"text\": \"d\"}\n";
    const CliRun capped = run("rerank --model " + kModels + "bert-ce --pairs --max-length 100000", pair);
    ASSERT_EQ(capped.status, 0) << capped.err;
    EXPECT_NE(capped.err.find("max_length 100000 is above the model's limit; using 128 tokens"), std::string::npos)
        << capped.err;
    const CliRun within = run("rerank --model " + kModels + "bert-ce --pairs --max-length 64", pair);
    ASSERT_EQ(within.status, 0) << within.err;
    EXPECT_EQ(within.err.find("above the model's limit"), std::string::npos) << within.err;
    const CliRun embed = run("embed --model " + kModels + "bert-embed-cls --max-length 4096", "{\"text\": \"x\"}\n");
    ASSERT_EQ(embed.status, 0) << embed.err;
    EXPECT_NE(embed.err.find("above the model's limit"), std::string::npos) << embed.err;
}

TEST_F(Cli, ErrorsExitWithTheirCodes) {
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce", "").status, 2);  // neither --query nor --pairs
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce --query q --pairs", "").status, 2);
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce --pretokenized --query q", "").status, 2);
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce --pairs --precision fp8", "").status, 2);
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce --query q", "{\"txt\": 1}\n").status, 2);
    EXPECT_EQ(run("rerank --model " + kModels + "bert-ce --pairs --pretokenized", "{\"input_ids\": [2, 99999]}\n").status, 2);
    EXPECT_EQ(run("rerank --model /nonexistent/model-dir --query q", "").status, 3);
}

}  // namespace
}  // namespace winnow
