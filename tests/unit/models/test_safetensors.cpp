#include <gtest/gtest.h>

#include "models/safetensors.h"
#include "models/weight_store.h"
#include "safetensors_writer.h"
#include "winnow/error.h"

namespace winnow {
namespace {

using test::FakeTensor;

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Runs fn, expects an Error with `code` whose message contains every needle.
template <typename Fn>
void expect_error(Fn&& fn, Errc code, std::initializer_list<std::string> needles) {
    try {
        fn();
        ADD_FAILURE() << "no error thrown";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(Safetensors, ParsesHeaderAndConverts) {
    const auto image = test::safetensors_image({{"a.weight", "F32", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"b", "F32", {4}, {}}});
    const auto header = parse_safetensors_header(as_bytes(image), "x.safetensors");
    ASSERT_EQ(header.tensors.size(), 2u);
    const auto& a = header.tensors.at("a.weight");
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
    const Tensor t = tensor_to_f32(a, as_bytes(image).subspan(header.data_offset + a.begin, a.end - a.begin), "x");
    EXPECT_EQ(t.rows(), 2u);
    EXPECT_EQ(t.row(1)[2], 6.0f);
}

TEST(Safetensors, CorruptImagesGiveErrorsNamingFileAndTensor) {
    const std::string good = test::safetensors_image({{"w", "F32", {2, 2}, {1, 2, 3, 4}}});
    expect_error([&] { parse_safetensors_header(as_bytes(good.substr(0, 5)), "m.safetensors"); }, Errc::Corrupt,
                 {"m.safetensors"});
    // Truncated: the data section ends early.
    expect_error([&] { parse_safetensors_header(as_bytes(good.substr(0, good.size() - 4)), "m.safetensors"); },
                 Errc::Corrupt, {"m.safetensors", "'w'", "truncated"});
    // Header length beyond the file.
    std::string long_header = good;
    long_header[5] = 1;
    expect_error([&] { parse_safetensors_header(as_bytes(long_header), "m.safetensors"); }, Errc::Corrupt,
                 {"truncated"});
    // Not JSON.
    std::string garbage = good;
    garbage[8] = '#';
    expect_error([&] { parse_safetensors_header(as_bytes(garbage), "m.safetensors"); }, Errc::Corrupt,
                 {"m.safetensors"});
    auto with_header = [](const std::string& json) {
        std::string out(8, '\0');
        out[0] = static_cast<char>(json.size());
        return out + json + std::string(16, '\0');
    };
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})")), "f"); },
                 Errc::Unsupported, {"'w'", "F99"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}})")), "f"); },
                 Errc::Corrupt, {"'w'"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})")), "f"); },
                 Errc::Corrupt, {"'w'", "shape"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})")), "f"); },
                 Errc::Corrupt, {"'w'"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})")), "f"); },
                 Errc::Corrupt, {"'w'"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"({"w":{"dtype":"F32","shape":[1]}})")), "f"); },
                 Errc::Corrupt, {"'w'", "data_offsets"});
    expect_error([&] { parse_safetensors_header(as_bytes(with_header(R"([1,2])")), "f"); }, Errc::Corrupt, {"f"});
}

TEST(WeightStore, SingleFileShapesAndMissingTensors) {
    test::TempDir dir("winnow_models_single");
    test::write_bytes(dir.path / "model.safetensors",
                      test::safetensors_image({{"w", "F32", {2, 2}, {1, 2, 3, 4}}, {"h", "F16", {3}, {}}, {"i", "I32", {2}, {}}}));
    const auto store = WeightStore::open(dir.path.string());
    EXPECT_TRUE(store.has("w"));
    EXPECT_EQ(store.get("w", {2, 2}).row(1)[0], 3.0f);
    EXPECT_EQ(store.get("h", {3}).cols(), 3u);
    expect_error([&] { store.get("w", {4}); }, Errc::Corrupt, {"model.safetensors", "'w'", "[2, 2]", "[4]"});
    expect_error([&] { store.get("nope", {1}); }, Errc::NotFound, {"model.safetensors", "'nope'"});
    expect_error([&] { store.get("i", {2}); }, Errc::Unsupported, {"'i'", "I32"});
}

TEST(WeightStore, ShardedIndex) {
    test::TempDir dir("winnow_models_sharded");
    test::write_bytes(dir.path / "model-00001-of-00002.safetensors", test::safetensors_image({{"a", "F32", {2}, {1, 2}}}));
    test::write_bytes(dir.path / "model-00002-of-00002.safetensors", test::safetensors_image({{"b", "F32", {1}, {7}}}));
    test::write_bytes(dir.path / "model.safetensors.index.json",
                      R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})");
    const auto store = WeightStore::open(dir.path.string());
    EXPECT_EQ(store.get("a", {2}).data()[1], 2.0f);
    EXPECT_EQ(store.get("b", {1}).data()[0], 7.0f);
    EXPECT_EQ(store.names().size(), 2u);

    test::write_bytes(dir.path / "model.safetensors.index.json",
                      R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "c": "missing.safetensors"}})");
    expect_error([&] { WeightStore::open(dir.path.string()); }, Errc::NotFound, {"missing.safetensors", "'c'"});
    test::write_bytes(dir.path / "model.safetensors.index.json",
                      R"({"weight_map": {"b": "model-00001-of-00002.safetensors"}})");
    expect_error([&] { WeightStore::open(dir.path.string()); }, Errc::Corrupt, {"'b'"});
    test::write_bytes(dir.path / "model.safetensors.index.json", R"({"weight_map": {"b": "../x.safetensors"}})");
    expect_error([&] { WeightStore::open(dir.path.string()); }, Errc::Corrupt, {"outside"});
}

TEST(WeightStore, MissingFilesAreNotFound) {
    test::TempDir dir("winnow_models_empty");
    expect_error([&] { WeightStore::open(dir.path.string()); }, Errc::NotFound, {dir.path.string()});
    expect_error([&] { WeightStore::open_file(dir.path.string() + "/x.safetensors"); }, Errc::NotFound, {"x.safetensors"});
}

}  // namespace
}  // namespace winnow
