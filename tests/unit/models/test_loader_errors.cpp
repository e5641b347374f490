// Loading a model folder that is broken in each way gives an Error naming the file (and tensor).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "models/registry.h"
#include "safetensors_writer.h"
#include "winnow/error.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;
const fs::path kBert = fs::path(WINNOW_SHARED_DIR) / "fixtures/models/bert-ce";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Error load_error(const std::string& folder) {
    try {
        load_model(folder);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "loading " << folder << " did not fail";
    return Error(Errc::Internal, "");
}

void expect_contains(const Error& e, const std::string& needle) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
}

TEST(LoaderErrors, UnknownModelTypeIsUnsupportedNamingIt) {
    test::TempDir dir("winnow_models_unknown_type");
    test::write_bytes(dir.path / "config.json", R"({"model_type": "gpt-neo-x9"})");
    const Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Unsupported);
    expect_contains(e, "gpt-neo-x9");
    expect_contains(e, "config.json");
    expect_contains(e, "bert");
}

TEST(LoaderErrors, MissingConfigAndWeights) {
    test::TempDir dir("winnow_models_missing");
    Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::NotFound);
    expect_contains(e, "config.json");
    fs::copy_file(kBert / "config.json", dir.path / "config.json");
    e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::NotFound);
    expect_contains(e, "model.safetensors");
}

TEST(LoaderErrors, CorruptConfig) {
    test::TempDir dir("winnow_models_bad_config");
    test::write_bytes(dir.path / "config.json", "{\"model_type\": \"bert\", ");
    Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Corrupt);
    expect_contains(e, "config.json");
    test::write_bytes(dir.path / "config.json", R"({"hidden_size": 8})");
    e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Corrupt);
    expect_contains(e, "model_type");
}

TEST(LoaderErrors, TruncatedWeights) {
    test::TempDir dir("winnow_models_truncated");
    fs::copy_file(kBert / "config.json", dir.path / "config.json");
    const std::string bytes = read_all(kBert / "model.safetensors");
    test::write_bytes(dir.path / "model.safetensors", bytes.substr(0, bytes.size() / 2));
    const Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Corrupt);
    expect_contains(e, "model.safetensors");
    expect_contains(e, "truncated");
}

TEST(LoaderErrors, ShapeMismatchNamesTensor) {
    test::TempDir dir("winnow_models_shapes");
    Json config = load_json_file((kBert / "config.json").string());
    config["intermediate_size"] = 100;
    test::write_bytes(dir.path / "config.json", config.dump());
    fs::copy_file(kBert / "model.safetensors", dir.path / "model.safetensors");
    const Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Corrupt);
    expect_contains(e, "bert.encoder.layer.0.intermediate.dense.weight");
    expect_contains(e, "[128, 64]");
}

TEST(LoaderErrors, MissingTensorNamed) {
    test::TempDir dir("winnow_models_missing_tensor");
    fs::copy_file(kBert / "config.json", dir.path / "config.json");
    test::write_bytes(dir.path / "model.safetensors",
                      test::safetensors_image({{"bert.embeddings.word_embeddings.weight", "F32", {2000, 64}, {}}}));
    const Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::NotFound);
    expect_contains(e, "bert.embeddings.position_embeddings.weight");
}

TEST(LoaderErrors, BadConfigValues) {
    test::TempDir dir("winnow_models_bad_values");
    Json config = load_json_file((kBert / "config.json").string());
    config["num_attention_heads"] = 0;
    test::write_bytes(dir.path / "config.json", config.dump());
    fs::copy_file(kBert / "model.safetensors", dir.path / "model.safetensors");
    Error e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Corrupt);
    expect_contains(e, "num_attention_heads");
    config["num_attention_heads"] = 5;  // 64 is not a multiple of 5
    test::write_bytes(dir.path / "config.json", config.dump());
    e = load_error(dir.path.string());
    expect_contains(e, "num_attention_heads");
    config["num_attention_heads"] = 4;
    config["hidden_act"] = "mish";
    test::write_bytes(dir.path / "config.json", config.dump());
    e = load_error(dir.path.string());
    EXPECT_EQ(e.code(), Errc::Unsupported);
    expect_contains(e, "mish");
}

// Values that used to be narrowed or accepted silently (issue 22 item 8) are errors naming the field.
TEST(LoaderErrors, OutOfRangeConfigValuesAreErrorsNotNarrowed) {
    const fs::path modern = fs::path(WINNOW_SHARED_DIR) / "fixtures/models/modernbert-ce";
    struct Case {
        fs::path model;
        std::function<void(Json&)> edit;
        Errc code;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {kBert, [](Json& c) { c["hidden_size"] = Json::parse("1180591620717411303424"); }, Errc::Corrupt, "hidden_size"},
        {kBert, [](Json& c) { c["type_vocab_size"] = 0; }, Errc::Corrupt, "type_vocab_size"},
        {kBert, [](Json& c) { c["type_vocab_size"] = -1; }, Errc::Corrupt, "type_vocab_size"},
        {kBert, [](Json& c) { c["num_hidden_layers"] = 2.5; }, Errc::Corrupt, "num_hidden_layers"},
        {modern, [](Json& c) { c["local_attention"] = 0; }, Errc::Corrupt, "local_attention"},
        {modern, [](Json& c) { c["local_attention"] = -128; }, Errc::Corrupt, "local_attention"},
        {modern, [](Json& c) { c["local_attention"] = std::int64_t{1} << 31; }, Errc::Corrupt, "local_attention"},
        {modern, [](Json& c) { c["rope_parameters"]["full_attention"]["rope_theta"] = 0.0; }, Errc::Corrupt, "rope_theta"},
        {modern, [](Json& c) { c["rope_parameters"]["sliding_attention"]["rope_theta"] = -1.0; }, Errc::Corrupt,
         "rope_theta"},
        {modern, [](Json& c) { c["rope_parameters"]["full_attention"]["rope_type"] = "yarn"; }, Errc::Unsupported,
         "yarn"},
    };
    for (const Case& c : cases) {
        test::TempDir dir("winnow_models_narrowing");
        Json config = load_json_file((c.model / "config.json").string());
        c.edit(config);
        test::write_bytes(dir.path / "config.json", config.dump());
        fs::copy_file(c.model / "model.safetensors", dir.path / "model.safetensors");
        const Error e = load_error(dir.path.string());
        EXPECT_EQ(e.code(), c.code) << config.dump();
        expect_contains(e, c.needle);
    }
}

TEST(LoaderErrors, BadInputIdsAreRejectedNotCrashing) {
    const auto model = load_model(kBert.string());
    TokenBatch batch;
    const std::vector<std::int32_t> ids{2, 5000, 3};
    batch.add(ids);
    try {
        model->forward(batch);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::InvalidArgument);
        expect_contains(e, "5000");
    }
    TokenBatch too_long;
    too_long.add(std::vector<std::int32_t>(200, 5));
    EXPECT_THROW(model->forward(too_long), Error);
    TokenBatch bad_type;
    const std::vector<std::int32_t> one{2}, type{7};
    bad_type.add(one, type);
    EXPECT_THROW(model->forward(bad_type), Error);
}

TEST(Registry, KnowsTheArchitectures) {
    for (const char* type : {"bert", "xlm-roberta", "roberta", "modernbert"}) {
        EXPECT_NE(find_architecture(type), nullptr) << type;
    }
    EXPECT_EQ(find_architecture("gpt2"), nullptr);
}

}  // namespace
}  // namespace winnow
