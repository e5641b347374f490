// Golden parity tests: every tokenizer fixture and every usable vector file from shared/ is its own
// test case (one TEST_P instance each), compared id for id (and token / offset where recorded)
// against the outputs of Hugging Face tokenizers / transformers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "winnow/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using winnow::Json;
using winnow::Tokenizer;

const std::string kShared = WINNOW_SHARED_DIR;
const std::string kTok = kShared + "/data/tokenizers/";

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

enum class Kind { Fixture, LlamaCpp, Squad, HfTests, Swift, MultiA, MultiB, HfGenerated };

struct GoldenCase {
    std::string name;
    std::string tokenizer;  // path of tokenizer.json
    std::string vectors;    // path of the vector file
    Kind kind;
    std::string key;        // model key (tokenizer_tests.json) or second file
};

std::ostream& operator<<(std::ostream& os, const GoldenCase& c) { return os << c.name; }

std::vector<GoldenCase> all_cases() {
    std::vector<GoldenCase> cases;
    const std::string fixtures = kShared + "/fixtures/tokenizers";
    if (fs::is_directory(fixtures)) {
        std::vector<std::string> dirs;
        for (const auto& e : fs::directory_iterator(fixtures)) {
            if (fs::is_regular_file(e.path() / "expected_tokenization.json")) dirs.push_back(e.path().filename());
        }
        std::sort(dirs.begin(), dirs.end());
        for (const auto& d : dirs) {
            std::string name = "fixture_" + d;
            for (char& c : name) {
                if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
            }
            cases.push_back({name, fixtures + "/" + d + "/tokenizer.json",
                             fixtures + "/" + d + "/expected_tokenization.json", Kind::Fixture, ""});
        }
    }
    const std::string bert = kTok + "bert-base-uncased/tokenizer.json";
    const std::string gpt2 = kTok + "gpt2/gpt2_tokenizer.json";
    const std::string llama = kTok + "llama-2-spm-bpe/llama_tokenizer.json";
    const std::string falcon = kTok + "falcon-7b/falcon_tokenizer.json";
    const std::string lc = kTok + "llama.cpp-tokenizer-test-vectors/ggml-vocab-";
    cases.push_back({"llamacpp_bert_bge", bert, lc + "bert-bge.gguf", Kind::LlamaCpp, ""});
    cases.push_back({"llamacpp_gpt_2", gpt2, lc + "gpt-2.gguf", Kind::LlamaCpp, ""});
    cases.push_back({"llamacpp_llama_spm", llama, lc + "llama-spm.gguf", Kind::LlamaCpp, ""});
    cases.push_back({"llamacpp_falcon", falcon, lc + "falcon.gguf", Kind::LlamaCpp, ""});
    cases.push_back({"squad_questions_bert_base_uncased", bert, kTok + "bert-base-uncased/question_tokens.json",
                     Kind::Squad, kTok + "bert-base-uncased/tokenized_questions.json"});
    const std::string tests = kTok + "bert-base-uncased/tokenizer_tests.json";
    cases.push_back({"hf_tests_bert_base_uncased", bert, tests, Kind::HfTests, "bert-base-uncased"});
    cases.push_back({"hf_tests_google_bert", bert, tests, Kind::HfTests, "google-bert/bert-base-uncased"});
    cases.push_back({"hf_tests_distilgpt2", gpt2, tests, Kind::HfTests, "distilgpt2"});
    cases.push_back({"hf_tests_llama_2", llama, tests, Kind::HfTests, "coreml-projects/Llama-2-7b-chat-coreml"});
    cases.push_back({"hf_tests_falcon_7b", falcon, tests, Kind::HfTests, "tiiuae/falcon-7b"});
    cases.push_back({"swift_bert_uncased", bert, kTok + "bert-base-uncased/bert_uncased_encoded.json", Kind::Swift, ""});
    cases.push_back({"swift_gpt2", gpt2, kTok + "gpt2/gpt2_encoded_tokens.json", Kind::Swift, ""});
    cases.push_back({"swift_llama_2", llama, kTok + "llama-2-spm-bpe/llama_encoded.json", Kind::Swift, ""});
    cases.push_back({"swift_falcon", falcon, kTok + "falcon-7b/falcon_encoded.json", Kind::Swift, ""});
    const std::string ml = kTok + "multilingual-conformance-baselines/";
    cases.push_back({"multilingual_a_bge_small_en", bert, ml + "BAAI__bge-small-en-v1.5.json", Kind::MultiA,
                     ml + "inputs_3afc5a9.json"});
    cases.push_back({"multilingual_a_gpt2", gpt2, ml + "openai-community__gpt2.json", Kind::MultiA,
                     ml + "inputs_3afc5a9.json"});
    cases.push_back({"multilingual_a_tinyllama", llama, ml + "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json", Kind::MultiA,
                     ml + "inputs_3afc5a9.json"});
    cases.push_back({"multilingual_b_bge_small_en", bert, ml + "bge_small_multilingual.json", Kind::MultiB,
                     ml + "inputs_00cb4cf.json"});
    cases.push_back({"multilingual_b_gpt2", gpt2, ml + "gpt2_multilingual.json", Kind::MultiB,
                     ml + "inputs_00cb4cf.json"});
    cases.push_back({"multilingual_b_tinyllama", llama, ml + "tinyllama_multilingual.json", Kind::MultiB,
                     ml + "inputs_00cb4cf.json"});
    // Outputs of HF tokenizers' own binding (tests/golden/tokenizer/gen_hf_vectors.js).
    const std::string generated = std::string(WINNOW_SOURCE_DIR) + "/tests/golden/tokenizer/hf_vectors.json";
    for (const char* name : {"bert-base-uncased", "all-MiniLM-L6-v2", "gpt2", "llama-2", "falcon-7b", "fixture-unigram"}) {
        std::string id = std::string("hf_generated_") + name;
        for (char& c : id) {
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        }
        cases.push_back({id, "", generated, Kind::HfGenerated, name});
    }
    return cases;
}

std::string ids_str(const std::vector<std::int32_t>& ids) {
    std::string s;
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
    return s;
}

struct Tally {
    std::size_t total = 0;
    std::size_t ok = 0;
    std::vector<std::string> failures;
    void check(bool good, const std::string& what) {
        ++total;
        if (good) {
            ++ok;
        } else if (failures.size() < 8) {
            failures.push_back(what);
        }
    }
};

class TokenizerGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(TokenizerGolden, MatchesReference) {
    const GoldenCase& c = GetParam();
    const std::string vec_path = c.kind == Kind::LlamaCpp ? c.vectors + ".inp" : c.vectors;
    Json generated;
    std::string tok_path = c.tokenizer;
    if (c.kind == Kind::HfGenerated) {
        ASSERT_TRUE(fs::exists(vec_path)) << vec_path;
        generated = winnow::parse_json(slurp(vec_path), vec_path).at("tokenizers").at(c.key);
        tok_path = kShared + "/" + generated.at("file").get<std::string>();
    }
    if (!fs::exists(tok_path) || !fs::exists(vec_path)) GTEST_SKIP() << "missing " << tok_path << " or " << vec_path;
    const Tokenizer tok = Tokenizer::from_file(tok_path);
    Tally t;
    auto compare_ids = [&](const std::string& text, const std::vector<std::int32_t>& expected, bool special,
                           const std::string& label) {
        const winnow::Encoding e = tok.encode(text, special);
        t.check(e.ids == expected, label + ": text " + Json(text).dump() + "\n   got      " + ids_str(e.ids) +
                                       "\n   expected " + ids_str(expected));
        return e;
    };
    switch (c.kind) {
    case Kind::Fixture: {
        const Json j = winnow::parse_json(slurp(c.vectors), c.vectors);
        for (const Json& s : j.at("single")) {
            const std::string text = s.at("text");
            const winnow::Encoding e = tok.encode(text);
            const auto ids = s.at("ids").get<std::vector<std::int32_t>>();
            const auto tokens = s.at("tokens").get<std::vector<std::string>>();
            std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets;
            for (const Json& o : s.at("offsets")) offsets.emplace_back(o[0].get<std::uint32_t>(), o[1].get<std::uint32_t>());
            std::string got_off;
            for (const auto& [a, b] : e.offsets) got_off += "(" + std::to_string(a) + "," + std::to_string(b) + ")";
            t.check(e.ids == ids && e.tokens == tokens && e.offsets == offsets,
                    "single " + Json(text).dump() + "\n   got      " + ids_str(e.ids) + " " + Json(e.tokens).dump() +
                        " " + got_off + "\n   expected " + ids_str(ids) + " " + Json(tokens).dump() + " " +
                        s.at("offsets").dump());
        }
        for (const Json& p : j.at("pairs")) {
            const std::string a = p.at("query");
            const std::string b = p.at("doc");
            winnow::Encoding e;
            if (p.at("max_length").is_null()) {
                e = tok.encode_pair(a, b);
            } else {
                winnow::TruncationOptions opt;
                opt.max_length = p.at("max_length").get<std::size_t>();
                e = tok.encode_pair(a, b, opt);
            }
            const auto ids = p.at("ids").get<std::vector<std::int32_t>>();
            const auto type_ids = p.at("type_ids").get<std::vector<std::int32_t>>();
            t.check(e.ids == ids && e.type_ids == type_ids,
                    "pair " + Json(a).dump() + " / " + Json(b).dump() + " max_length " + p.at("max_length").dump() +
                        "\n   got      " + ids_str(e.ids) + " | " + ids_str(e.type_ids) + "\n   expected " +
                        ids_str(ids) + " | " + ids_str(type_ids));
        }
        break;
    }
    case Kind::LlamaCpp: {
        const std::string inp = slurp(c.vectors + ".inp");
        const std::string sep = "\n__ggml_vocab_test__\n";
        std::vector<std::string> inputs;
        std::size_t pos = 0;
        while (true) {
            const std::size_t next = inp.find(sep, pos);
            if (next == std::string::npos) break;
            inputs.push_back(inp.substr(pos, next - pos));
            pos = next + sep.size();
        }
        std::istringstream out(slurp(c.vectors + ".out"));
        std::string line;
        std::size_t i = 0;
        while (std::getline(out, line) && i < inputs.size()) {
            std::vector<std::int32_t> expected;
            std::istringstream ls(line);
            std::int32_t v;
            while (ls >> v) expected.push_back(v);
            compare_ids(inputs[i], expected, false, "input " + std::to_string(i));
            ++i;
        }
        EXPECT_EQ(i, inputs.size());
        break;
    }
    case Kind::Squad: {
        const Json q = winnow::parse_json(slurp(c.vectors), c.vectors);
        const Json ids = winnow::parse_json(slurp(c.key), c.key);
        ASSERT_EQ(q.size(), ids.size());
        for (std::size_t i = 0; i < q.size(); ++i) {
            const winnow::Encoding e = compare_ids(q[i].at("original"), ids[i].get<std::vector<std::int32_t>>(), false,
                                                   "question " + std::to_string(i));
            (void)e;
        }
        // The wordpiece strings too.
        std::size_t tok_ok = 0;
        for (std::size_t i = 0; i < q.size(); ++i) {
            const winnow::Encoding e = tok.encode(q[i].at("original").get<std::string>(), false);
            tok_ok += e.tokens == q[i].at("wordpiece").get<std::vector<std::string>>();
        }
        EXPECT_EQ(tok_ok, q.size());
        break;
    }
    case Kind::HfTests: {
        const Json j = winnow::parse_json(slurp(c.vectors), c.vectors);
        for (const Json& e : j.at(c.key)) {
            compare_ids(e.at("input"), e.at("encoded").at("input_ids").get<std::vector<std::int32_t>>(), true,
                        "case");
        }
        break;
    }
    case Kind::Swift: {
        const Json j = winnow::parse_json(slurp(c.vectors), c.vectors);
        const winnow::Encoding e = compare_ids(j.at("text"), j.at("token_ids").get<std::vector<std::int32_t>>(), true, "text");
        // bpe_tokens lists the model tokens without the special ones.
        std::vector<std::string> model_tokens;
        for (std::size_t k = 0; k < e.tokens.size(); ++k) {
            if (!e.special_tokens_mask[k]) model_tokens.push_back(e.tokens[k]);
        }
        t.check(model_tokens == j.at("bpe_tokens").get<std::vector<std::string>>(), "bpe_tokens differ");
        break;
    }
    case Kind::MultiA: {
        const Json inputs = winnow::parse_json(slurp(c.key), c.key);
        const Json base = winnow::parse_json(slurp(c.vectors), c.vectors);
        for (const Json& in : inputs.at("inputs")) {
            const std::string id = in.at("id");
            if (!base.at("entries").contains(id)) continue;
            const Json& ex = base.at("entries").at(id);
            const auto e = compare_ids(in.at("text"), ex.at("input_ids").get<std::vector<std::int32_t>>(), true, id);
            t.check(e.tokens == ex.at("tokens").get<std::vector<std::string>>(), id + ": tokens differ");
        }
        break;
    }
    case Kind::MultiB: {
        const Json inputs = winnow::parse_json(slurp(c.key), c.key);
        const Json base = winnow::parse_json(slurp(c.vectors), c.vectors);
        std::map<std::string, const Json*> by_id;
        for (const Json& ex : base.at("entries")) by_id[ex.at("id")] = &ex;
        for (const Json& in : inputs) {
            auto it = by_id.find(in.at("id"));
            if (it == by_id.end()) continue;
            const Json& ex = *it->second;
            const std::string id = in.at("id");
            const auto e = compare_ids(in.at("text"), ex.at("input_ids").get<std::vector<std::int32_t>>(), true, id);
            t.check(e.tokens == ex.at("tokens").get<std::vector<std::string>>(), id + ": tokens differ");
        }
        break;
    }
    case Kind::HfGenerated: {
        // Inputs by index: the multilingual inputs_00cb4cf texts, then the llama.cpp .inp texts.
        std::vector<std::string> texts;
        const Json ml = winnow::parse_json(slurp(kTok + "multilingual-conformance-baselines/inputs_00cb4cf.json"), "inputs");
        for (const Json& e : ml) texts.push_back(e.at("text"));
        const std::string inp = slurp(kTok + "llama.cpp-tokenizer-test-vectors/ggml-vocab-gpt-2.gguf.inp");
        const std::string sep = "\n__ggml_vocab_test__\n";
        for (std::size_t pos = 0, next; (next = inp.find(sep, pos)) != std::string::npos; pos = next + sep.size()) {
            texts.push_back(inp.substr(pos, next - pos));
        }
        for (const Json& s : generated.at("singles")) {
            const std::string& text = texts.at(s.at("input").get<std::size_t>());
            const winnow::Encoding e = tok.encode(text);
            const auto ids = s.at("ids").get<std::vector<std::int32_t>>();
            std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets;
            for (const Json& o : s.at("offsets")) offsets.emplace_back(o[0].get<std::uint32_t>(), o[1].get<std::uint32_t>());
            t.check(e.ids == ids, "ids of " + Json(text).dump() + "\n   got      " + ids_str(e.ids) + "\n   expected " + ids_str(ids));
            t.check(e.tokens == s.at("tokens").get<std::vector<std::string>>(), "tokens of " + Json(text).dump());
            t.check(e.offsets == offsets, "offsets of " + Json(text).dump());
            const std::string d = tok.decode(ids, true);
            t.check(d == s.at("decoded").get<std::string>(),
                    "decode of " + Json(text).dump() + ": got " + Json(d).dump() + " expected " + s.at("decoded").dump());
            const std::string ds = tok.decode(ids, false);
            t.check(ds == s.at("decoded_special").get<std::string>(),
                    "decode (special) of " + Json(text).dump() + ": got " + Json(ds).dump() + " expected " +
                        s.at("decoded_special").dump());
        }
        for (const Json& p : generated.at("pairs")) {
            winnow::TruncationOptions opt;
            opt.max_length = p.at("max_length");
            opt.stride = p.at("stride");
            const std::string strategy = p.at("strategy");
            opt.strategy = strategy == "OnlyFirst"    ? winnow::TruncationStrategy::OnlyFirst
                           : strategy == "OnlySecond" ? winnow::TruncationStrategy::OnlySecond
                                                      : winnow::TruncationStrategy::LongestFirst;
            opt.direction = p.at("direction") == "left" ? winnow::TruncationDirection::Left : winnow::TruncationDirection::Right;
            const std::string& a = texts.at(p.at("a").get<std::size_t>());
            const std::string& b = texts.at(p.at("b").get<std::size_t>());
            const std::string label = "pair " + std::to_string(p.at("a").get<int>()) + " " + strategy + " max " +
                                      p.at("max_length").dump() + " stride " + p.at("stride").dump() + " " +
                                      p.at("direction").get<std::string>();
            if (p.contains("error")) {
                bool threw = false;
                try {
                    (void)tok.encode_pair(a, b, opt);
                } catch (const winnow::Error&) {
                    threw = true;
                }
                t.check(threw, label + ": HF refuses this truncation");
                continue;
            }
            winnow::Encoding e;
            try {
                e = tok.encode_pair(a, b, opt);
            } catch (const winnow::Error& err) {
                t.check(false, label + ": " + err.what());
                continue;
            }
            std::vector<std::vector<std::int32_t>> over;
            for (const auto& o : e.overflowing) over.push_back(o.ids);
            const auto exp_over = p.at("overflowing").get<std::vector<std::vector<std::int32_t>>>();
            t.check(e.ids == p.at("ids").get<std::vector<std::int32_t>>() &&
                        e.type_ids == p.at("type_ids").get<std::vector<std::int32_t>>() && over == exp_over,
                    label + "\n   got      " + ids_str(e.ids) + " (+" + std::to_string(over.size()) +
                        " overflowing)\n   expected " + ids_str(p.at("ids").get<std::vector<std::int32_t>>()) + " (+" +
                        std::to_string(exp_over.size()) + " overflowing)");
        }
        break;
    }
    }
    std::printf("[golden] %s: %zu/%zu match\n", c.name.c_str(), t.ok, t.total);
    RecordProperty("matched", std::to_string(t.ok) + "/" + std::to_string(t.total));
    EXPECT_GT(t.total, 0u);
    for (const std::string& f : t.failures) ADD_FAILURE() << f;
    EXPECT_EQ(t.ok, t.total);
}

INSTANTIATE_TEST_SUITE_P(Shared, TokenizerGolden, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

}  // namespace
