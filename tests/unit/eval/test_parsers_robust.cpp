// Bad input never crashes: every reader either parses or throws winnow::Error, on seeded garbage
// assembled from the formats' own tokens.
#include <gtest/gtest.h>

#include <random>

#include "eval/dataset.h"
#include "winnow/error.h"
#include "winnow/eval.h"

namespace winnow::eval {
namespace {

std::string garbage(std::mt19937_64& rng) {
    static const char* kTokens[] = {"1", " ", "\t", "\n", "\r\n", "Q0", "0", "-1", "2.5", "x", ".I", ".W", ".T", "#",
                                    "<top>", "</top>", "<num>", "<title>", "{", "}", "\"_id\"", ":", "\"text\"",
                                    "query-id", "QuestionID", "\xff\xfe", "99999999999999999999", "1e400", "nan"};
    std::uniform_int_distribution<std::size_t> pick(0, sizeof(kTokens) / sizeof(kTokens[0]) - 1);
    std::uniform_int_distribution<int> len(0, 60);
    std::string s;
    for (int i = len(rng); i > 0; --i) s += kTokens[pick(rng)];
    return s;
}

template <typename Fn>
void survives(Fn&& fn, const std::string& input) {
    try {
        fn(input);
    } catch (const Error&) {
        // a clear error is fine
    } catch (const std::exception& e) {
        FAIL() << "non-winnow exception " << e.what() << " on input: " << input;
    }
}

TEST(ParsersRobust, SeededGarbage) {
    std::mt19937_64 rng(1234);
    for (int i = 0; i < 3000; ++i) {
        const std::string in = garbage(rng);
        survives([](const std::string& s) { parse_trec_qrels(s, "q"); }, in);
        survives([](const std::string& s) { parse_trec_run(s, "r"); }, in);
        survives([](const std::string& s) { parse_trec_topics(s, "t"); }, in);
        survives([](const std::string& s) { parse_smart_queries(s, "s"); }, in);
        survives([](const std::string& s) { parse_smart_pairs(s, "p"); }, in);
        survives([](const std::string& s) { parse_cranfield_qrels(s, "c"); }, in);
        survives([](const std::string& s) { parse_lisa_queries(s, "l"); }, in);
        survives([](const std::string& s) { parse_lisa_judgments(s, "j"); }, in);
        survives([](const std::string& s) { parse_beir_queries(s, "b"); }, in);
        survives([](const std::string& s) { parse_beir_qrels(s, "bq"); }, in);
        survives(
            [](const std::string& s) {
                std::vector<Query> q;
                Qrels r;
                std::size_t n = 0;
                parse_wikiqa(s, "w", q, r, n);
            },
            in);
        survives([](const std::string& s) { parse_measures(s); }, in);
    }
}

}  // namespace
}  // namespace winnow::eval
