#include <gtest/gtest.h>

#include "core/json.h"

TEST(Json, GetNamesFieldAndSource) {
    auto j = winnow::parse_json(R"({"a": 1, "b": "x"})", "config.json");
    EXPECT_EQ(winnow::json_get<int>(j, "a", "config.json"), 1);
    EXPECT_EQ(winnow::json_get_or<int>(j, "missing", 7, "config.json"), 7);
    try {
        winnow::json_get<int>(j, "b", "config.json");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos);
    }
}

TEST(Json, ParseErrorIsCorrupt) {
    try {
        winnow::parse_json("{oops", "tokenizer.json");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);
    }
}

TEST(Json, OutOfRangeNumberIsCorruptNotACrash) {
    try {
        winnow::parse_json(R"({"x": 1e400})", "request body");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("request body"), std::string::npos);
    }
}
