// Progress on stderr: the plain-line form (what a log or a pipe gets) prints one line per tenth of the
// work and the last one; the bar redraws in place; off prints nothing.
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/progress.h"

namespace winnow {
namespace {

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

TEST(Progress, LineTextHasCountsRateAndEta) {
    EXPECT_EQ(progress_line("eval", 5, 10, 2.0), "eval: 5/10 (50%), 2.50/s, ETA 2.0 s");
    EXPECT_EQ(progress_line("eval", 10, 10, 4.0), "eval: 10/10 (100%), 2.50/s, 4.0 s");
    EXPECT_EQ(progress_line("embed", 1, 100, 10.0), "embed: 1/100 (1%), 0.10/s, ETA 16:30 min");
    EXPECT_EQ(progress_line("embed", 3000, 3000, 7300.0), "embed: 3000/3000 (100%), 0.41/s, 2:01:40 h");
    EXPECT_EQ(progress_line("x", 0, 10, 0.0), "x: 0/10 (0%), -/s, ETA -");
}

TEST(Progress, PlainLinesOnePerTenthAndTheLast) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        Progress p("job", 100, ProgressMode::Lines, f);
        for (int i = 0; i < 100; ++i) p.add();
        p.finish();
        p.finish();  // once
    }
    const auto lines = lines_of(read_all(f));
    ASSERT_EQ(lines.size(), 10u);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string count = std::to_string(10 * (i + 1));
        EXPECT_EQ(lines[i].rfind("job: " + count + "/100 (" + count + "%), ", 0), 0u) << lines[i];
        EXPECT_EQ(lines[i].find('\r'), std::string::npos);
        EXPECT_EQ(lines[i].find("ETA") != std::string::npos, i + 1 < lines.size()) << lines[i];
    }
    std::fclose(f);
}

TEST(Progress, BigStepsPrintTheLatestTenthAndAnUnfinishedJobItsLastState) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        Progress p("job", 20, ProgressMode::Lines, f);
        p.add(7);  // crosses three tenths at once: one line
        p.add(1);  // 40%: a line
        p.add(0);
    }  // stopped at 8/20: the destructor prints where it stopped
    const auto lines = lines_of(read_all(f));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].rfind("job: 7/20 (35%)", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("job: 8/20 (40%)", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind("job: 8/20 (40%)", 0), 0u) << lines[2];
    std::fclose(f);
}

TEST(Progress, GrowingTotalAndNothingDone) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        Progress idle("idle", 10, ProgressMode::Lines, f);  // nothing done: nothing printed
    }
    {
        Progress p("embed", 0, ProgressMode::Lines, f);
        p.add_total(4);
        p.add(2);
        p.add_total(4);
        p.add(6);
    }
    const auto lines = lines_of(read_all(f));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].rfind("embed: 2/4 (50%)", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("embed: 8/8 (100%)", 0), 0u) << lines[1];
    std::fclose(f);
}

TEST(Progress, UnknownTotalPrintsAtOneTwoFiveSteps) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        Progress p("embed", 0, ProgressMode::Lines, f);
        for (int i = 0; i < 250; ++i) p.add();
        p.add(1000);  // 1250: past 500 and 1000, one line
    }
    const auto lines = lines_of(read_all(f));
    std::vector<std::string> counts;
    for (const auto& line : lines) counts.push_back(line.substr(0, line.find(',')));
    EXPECT_EQ(counts, (std::vector<std::string>{"embed: 10", "embed: 20", "embed: 50", "embed: 100", "embed: 200",
                                                "embed: 1250", "embed: 1250"}));
    EXPECT_EQ(lines.back().find("ETA"), std::string::npos);
    EXPECT_EQ(progress_line("embed", 1200, 0, 10.0, true), "embed: 1200, 120/s, 10.0 s");
    std::fclose(f);
}

TEST(Progress, OffPrintsNothingAndTheBarEndsWithANewline) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        Progress off("job", 10, ProgressMode::Off, f);
        off.add(10);
    }
    EXPECT_EQ(read_all(f), "");
    {
        Progress bar("job", 10, ProgressMode::Bar, f);
        bar.add(10);
    }
    const std::string text = read_all(f);
    EXPECT_EQ(text.front(), '\r');
    EXPECT_EQ(text.back(), '\n');
    EXPECT_NE(text.find("job: 10/10 (100%)"), std::string::npos);
    std::fclose(f);
    EXPECT_EQ(progress_mode(true), ProgressMode::Off);
}

}  // namespace
}  // namespace winnow
