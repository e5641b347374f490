// The web UI in headless Chromium (tests/server/ui/ui_test.mjs over npm playwright-core): search
// shows the first-stage and reranked lists, and a label click lands in the server's qrels file.
// Skips when node, Chromium or playwright-core are missing. To run it:
//   apt-get install -y chromium nodejs npm
//   mkdir -p /tmp/winnow-ui-npm && cp tests/server/ui/package.json /tmp/winnow-ui-npm/ &&
//   (cd /tmp/winnow-ui-npm && npm install)
// (or point WINNOW_PLAYWRIGHT_DIR at another folder holding node_modules/playwright-core).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "serve_process.h"

namespace winnow::testing {
namespace {

TEST(WebUi, SearchSideBySideAndLabelInChromium) {
    namespace fs = std::filesystem;
    const char* env_dir = std::getenv("WINNOW_PLAYWRIGHT_DIR");
    const std::string pw_dir = env_dir ? env_dir : "/tmp/winnow-ui-npm";
    const char* env_chromium = std::getenv("WINNOW_CHROMIUM");
    const std::string chromium = env_chromium ? env_chromium : "/usr/bin/chromium";
    if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "node not installed";
    if (!fs::exists(chromium)) GTEST_SKIP() << chromium << " not installed (apt-get install -y chromium)";
    if (!fs::exists(fs::path(pw_dir) / "node_modules" / "playwright-core")) {
        GTEST_SKIP() << "playwright-core not installed in " << pw_dir << " (see this file's header)";
    }
    ASSERT_TRUE(have_fixtures());
    const std::string index = make_index("ui");
    ASSERT_FALSE(index.empty());
    const std::string qrels = index + "/ui.qrels";
    ServeProcess p({"--port", "0", "--index", index, "--rerank-model", kModels + "/bert-ce", "--labels", qrels,
                    "--pipeline", "bm25(k=10) > rerank > cutoff(top_n=3)"});
    ASSERT_GT(p.port(), 0);
    const std::string shot = ::testing::TempDir() + "/winnow_ui.png";
    const std::string cmd = "node " + std::string(WINNOW_SOURCE_DIR) + "/tests/server/ui/ui_test.mjs http://127.0.0.1:" +
                            std::to_string(p.port()) + " " + pw_dir + " " + shot;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_TRUE(fs::exists(shot));
    std::ifstream in(qrels);
    std::string qid, iter, doc;
    int rel = -1;
    ASSERT_TRUE(in >> qid >> iter >> doc >> rel) << "no label in " << qrels;
    EXPECT_EQ(rel, 1);
    EXPECT_EQ(p.terminate(), 0);
}

}  // namespace
}  // namespace winnow::testing
