#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace {

using winnow::Encoding;
using winnow::Tokenizer;
using I = std::vector<std::int32_t>;
using S = std::vector<std::string>;
using O = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

// A small BERT-like tokenizer.
std::string bert_json(const std::string& extra_added = "", const std::string& trunc = "null",
                      const std::string& pad = "null") {
    return R"({"version":"1.0","truncation":)" + trunc + R"(,"padding":)" + pad + R"(,
      "added_tokens":[
        {"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
        {"id":1,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
        {"id":2,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
        {"id":3,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}
        )" + extra_added + R"(],
      "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
      "pre_tokenizer":{"type":"BertPreTokenizer"},
      "post_processor":{"type":"TemplateProcessing",
        "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
        "pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},
                {"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],
        "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
      "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
      "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
        "vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"hello":4,"world":5,"!":6,"un":7,"##able":8,"a":9,"b":10,
                 "c":11,"d":12,"e":13,"f":14,",":15,"'":16,"s":17,"it":18,".":19}}})";
}

TEST(Tokenizer, EncodesWithSpecialTokensAndCharOffsets) {
    const Tokenizer t = Tokenizer::from_json(bert_json());
    const Encoding e = t.encode("Héllo, wörld!");
    EXPECT_EQ(e.ids, (I{2, 4, 15, 5, 6, 3}));
    EXPECT_EQ(e.tokens, (S{"[CLS]", "hello", ",", "world", "!", "[SEP]"}));
    EXPECT_EQ(e.offsets, (O{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {0, 0}}));
    EXPECT_EQ(e.special_tokens_mask, (std::vector<std::uint8_t>{1, 0, 0, 0, 0, 1}));
    EXPECT_EQ(t.encode("hello", false).ids, (I{4}));
    EXPECT_EQ(t.num_special_tokens(false), 2u);
    EXPECT_EQ(t.num_special_tokens(true), 3u);
    EXPECT_EQ(t.token_to_id("world"), 5);
    EXPECT_EQ(t.id_to_token(8), "##able");
    EXPECT_FALSE(t.id_to_token(999).has_value());
    EXPECT_EQ(t.vocab_size(), 20u);
}

TEST(Tokenizer, AddedTokensAreSplitOutBeforeNormalization) {
    const Tokenizer t = Tokenizer::from_json(bert_json(
        R"(,{"id":20,"content":"[MASK]","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true},
            {"id":21,"content":"Hello","single_word":true,"lstrip":false,"rstrip":false,"normalized":true,"special":false})"));
    // [MASK] is matched on the raw text (not lowercased), lstrip takes the space before it.
    const Encoding e = t.encode("a [MASK]b", false);
    EXPECT_EQ(e.ids, (I{9, 20, 10}));
    EXPECT_EQ(e.tokens, (S{"a", " [MASK]", "b"}));
    EXPECT_EQ(e.offsets, (O{{0, 1}, {1, 8}, {8, 9}}));
    // "Hello" is normalized to "hello" and matched in the normalized text, only as a single word.
    EXPECT_EQ(t.encode("HELLO world", false).ids, (I{21, 5}));
    EXPECT_EQ(t.encode("ahello", false).ids, (I{1}));
    // Special tokens are skipped in decode; added non-special ones are kept, in their normalized
    // form when they are normalized (HF's normalized_cache).
    EXPECT_EQ(t.decode(I{2, 21, 5, 20, 3}), "hello world");
    EXPECT_EQ(t.decode(I{2, 4, 3}, false), "[CLS] hello [SEP]");
}

TEST(Tokenizer, PairTruncationStrategies) {
    const Tokenizer t = Tokenizer::from_json(bert_json());
    const std::string a = "a b c d e f";
    const std::string b = "a b";
    winnow::TruncationOptions opt;
    opt.max_length = 7;
    Encoding e = t.encode_pair(a, b, opt);
    EXPECT_EQ(e.ids, (I{2, 9, 10, 3, 9, 10, 3}));
    EXPECT_EQ(e.type_ids, (I{0, 0, 0, 0, 1, 1, 1}));
    EXPECT_TRUE(e.truncated);
    opt.strategy = winnow::TruncationStrategy::OnlyFirst;
    e = t.encode_pair(a, b, opt);
    EXPECT_EQ(e.ids, (I{2, 9, 10, 3, 9, 10, 3}));
    opt.strategy = winnow::TruncationStrategy::OnlySecond;
    EXPECT_THROW(t.encode_pair(a, b, opt), winnow::Error);  // b is too short to absorb the cut
    opt.strategy = winnow::TruncationStrategy::LongestFirst;
    opt.direction = winnow::TruncationDirection::Left;
    e = t.encode_pair(a, b, opt);
    EXPECT_EQ(e.ids, (I{2, 13, 14, 3, 9, 10, 3}));
    opt.max_length = 2;
    EXPECT_THROW(t.encode_pair(a, b, opt), winnow::Error);  // not even room for the specials
}

TEST(Tokenizer, StrideGivesOverflowingWindows) {
    Tokenizer t = Tokenizer::from_json(bert_json());
    winnow::TruncationOptions opt;
    opt.max_length = 5;
    opt.stride = 1;
    t.set_truncation(opt);
    const Encoding e = t.encode("a b c d e f");
    EXPECT_EQ(e.ids, (I{2, 9, 10, 11, 3}));
    // As in HF, tokenization stops once max_length tokens exist, so the windows cover "a b c d e".
    ASSERT_EQ(e.overflowing.size(), 1u);
    EXPECT_EQ(e.overflowing[0].ids, (I{2, 11, 12, 13, 3}));
    opt.stride = 3;
    t.set_truncation(opt);
    EXPECT_THROW(t.encode("a b c d e f"), winnow::Error);  // stride must be < max_length - specials
}

TEST(Tokenizer, ConfiguredTruncationAndPaddingApply) {
    const Tokenizer t = Tokenizer::from_json(bert_json(
        "", R"({"direction":"Right","max_length":4,"strategy":"LongestFirst","stride":0})",
        R"({"strategy":"BatchLongest","direction":"Right","pad_to_multiple_of":8,"pad_id":0,"pad_type_id":0,"pad_token":"[PAD]"})"));
    const Encoding e = t.encode("a b c d");
    EXPECT_EQ(e.ids, (I{2, 9, 10, 3, 0, 0, 0, 0}));
    EXPECT_EQ(e.attention_mask, (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));
    Tokenizer copy = t;
    copy.set_truncation(std::nullopt);
    copy.set_padding(std::nullopt);
    EXPECT_EQ(copy.encode("a b c d").ids, (I{2, 9, 10, 11, 12, 3}));
    EXPECT_EQ(t.encode("a b c d").ids.size(), 8u);  // the original keeps its settings
}

TEST(Tokenizer, BatchPaddingFixedLeftAndLongest) {
    Tokenizer t = Tokenizer::from_json(bert_json());
    winnow::PaddingOptions p;
    t.set_padding(p);
    const std::vector<std::string> texts{"a", "a b c", "hello world"};
    auto batch = t.encode_batch(texts);
    ASSERT_EQ(batch.size(), 3u);
    for (const auto& e : batch) EXPECT_EQ(e.ids.size(), 5u);
    EXPECT_EQ(batch[0].ids, (I{2, 9, 3, 0, 0}));
    p.fixed_length = 6;
    p.direction = winnow::PaddingDirection::Left;
    p.pad_id = 1;
    p.pad_token = "[UNK]";
    t.set_padding(p);
    batch = t.encode_batch(texts);
    EXPECT_EQ(batch[0].ids, (I{1, 1, 1, 2, 9, 3}));
    EXPECT_EQ(batch[0].tokens[0], "[UNK]");
    const std::vector<std::pair<std::string, std::string>> pairs{{"a", "b"}, {"a b c", "d"}};
    auto pb = t.encode_pair_batch(pairs, std::nullopt);
    EXPECT_EQ(pb[0].ids, (I{1, 2, 9, 3, 10, 3}));
}

TEST(Tokenizer, DecodeWordPieceJoinsAndCleansUp) {
    const Tokenizer t = Tokenizer::from_json(bert_json());
    // HF cleans up each token on its own, so " '" is kept apart.
    EXPECT_EQ(t.decode(t.encode("unable, it's a.").ids), "unable, it ' s a.");
}

TEST(Tokenizer, InvalidUtf8IsReplacedNotFatal) {
    const Tokenizer t = Tokenizer::from_json(bert_json());
    const Encoding e = t.encode("a\xFF" "b");
    EXPECT_EQ(e.ids.front(), 2);
    EXPECT_EQ(e.ids.back(), 3);
}

// Byte-level BPE with RobertaProcessing and offset trimming.
TEST(Tokenizer, RobertaProcessingTrimsOffsets) {
    const std::string json = R"({"added_tokens":[
        {"id":0,"content":"<s>","special":true,"normalized":false},
        {"id":1,"content":"</s>","special":true,"normalized":false}],
      "normalizer":null,
      "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
      "post_processor":{"type":"RobertaProcessing","sep":["</s>",1],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false},
      "decoder":{"type":"ByteLevel"},
      "model":{"type":"BPE","vocab":{"<s>":0,"</s>":1,"a":2,"b":3,"\u0120":4,"\u0120b":5,"ab":6},"merges":["\u0120 b","a b"]}})";
    const Tokenizer t = Tokenizer::from_json(json);
    const Encoding e = t.encode("ab b");
    EXPECT_EQ(e.ids, (I{0, 6, 5, 1}));
    EXPECT_EQ(e.offsets, (O{{0, 0}, {0, 2}, {3, 4}, {0, 0}}));
    const Encoding p = t.encode_pair("ab", "b");
    EXPECT_EQ(p.ids, (I{0, 6, 1, 1, 3, 1}));
    EXPECT_EQ(p.type_ids, (I{0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(t.decode(e.ids), "ab b");
}

TEST(Tokenizer, BertProcessingAndLlamaStyleDecoders) {
    const std::string json = R"({"added_tokens":[
        {"id":0,"content":"<s>","special":true,"normalized":false},
        {"id":1,"content":"</s>","special":true,"normalized":false}],
      "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},
                    {"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]},
      "pre_tokenizer":null,
      "post_processor":{"type":"BertProcessing","sep":["</s>",1],"cls":["<s>",0]},
      "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},
                 {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
      "model":{"type":"BPE","byte_fallback":true,"fuse_unk":true,"unk_token":"<unk>",
        "vocab":{"<s>":0,"</s>":1,"<unk>":2,"\u2581":3,"a":4,"\u2581a":5,"<0xC3>":6,"<0xA9>":7},"merges":["\u2581 a"]}})";
    const Tokenizer t = Tokenizer::from_json(json);
    const Encoding e = t.encode("a é");
    EXPECT_EQ(e.ids, (I{0, 5, 3, 6, 7, 1}));
    EXPECT_EQ(e.offsets, (O{{0, 0}, {0, 1}, {1, 2}, {2, 3}, {2, 3}, {0, 0}}));
    EXPECT_EQ(t.decode(e.ids), "a é");
    const Encoding p = t.encode_pair("a", "a");
    EXPECT_EQ(p.ids, (I{0, 5, 1, 5, 1}));
    EXPECT_EQ(p.type_ids, (I{0, 0, 0, 1, 1}));
}

TEST(Tokenizer, UnigramMetaspaceRoundTrip) {
    const std::string json = R"({"added_tokens":[],
      "normalizer":null,
      "pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true},
      "post_processor":null,
      "decoder":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true},
      "model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["\u2581he",-1.0],["llo",-1.0],["\u2581",-2.0],
               ["w",-2.0],["orld",-1.0]]}})";
    const Tokenizer t = Tokenizer::from_json(json);
    const Encoding e = t.encode("hello world");
    EXPECT_EQ(e.tokens, (S{"\xE2\x96\x81he", "llo", "\xE2\x96\x81", "w", "orld"}));
    EXPECT_EQ(t.decode(e.ids), "hello world");
}

TEST(Tokenizer, ModelFolderGivesModelMaxLength) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("winnow_tok_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << bert_json();
    std::ofstream(dir / "config.json") << R"({"model_type":"roberta","max_position_embeddings":514,"pad_token_id":1})";
    EXPECT_EQ(Tokenizer::from_file(dir.string()).model_max_length(), 512u);
    std::ofstream(dir / "tokenizer_config.json") << R"({"model_max_length": 1000000000000000019884624838656})";
    EXPECT_EQ(Tokenizer::from_file(dir.string()).model_max_length(), 512u);  // the HF sentinel is ignored
    std::ofstream(dir / "tokenizer_config.json") << R"({"model_max_length": 128})";
    const Tokenizer t = Tokenizer::from_file((dir / "tokenizer.json").string());
    EXPECT_EQ(t.model_max_length(), 128u);
    // encode_pair with max_length 0 falls back to the model's limit.
    std::string long_text;
    for (int i = 0; i < 200; ++i) long_text += "a ";
    EXPECT_EQ(t.encode_pair(long_text, long_text, winnow::TruncationOptions{}).ids.size(), 128u);
    fs::remove_all(dir);
}

}  // namespace
