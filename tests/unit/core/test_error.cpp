#include <gtest/gtest.h>

#include "winnow/error.h"

using winnow::Errc;
using winnow::Error;

TEST(Error, CheckThrowsWithFormattedMessageAndCode) {
    try {
        WINNOW_CHECK(1 + 1 == 3, Errc::InvalidArgument, "field '{}' has value {}", "k", 42);
        FAIL() << "expected a throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::InvalidArgument);
        EXPECT_STREQ(e.what(), "field 'k' has value 42");
    }
}

TEST(Error, CheckPassesSilently) { EXPECT_NO_THROW(WINNOW_CHECK(true, Errc::Io, "never")); }

TEST(Error, CodesMapToExitAndHttp) {
    EXPECT_EQ(winnow::exit_code(Errc::InvalidArgument), 2);
    EXPECT_EQ(winnow::http_status(Errc::Overloaded), 429);
    EXPECT_EQ(winnow::http_status(Errc::TooLarge), 413);
    EXPECT_EQ(winnow::http_status(Errc::Unauthorized), 401);
    EXPECT_EQ(winnow::errc_name(Errc::Corrupt), "corrupt");
}

TEST(ErrorDeathTest, AssertAborts) { EXPECT_DEATH(WINNOW_ASSERT(false && "bug"), "assertion failed"); }
