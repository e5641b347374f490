// The web UI in headless Chromium (tests/support/headless_chromium.h: the DevTools protocol over a
// pipe, only the `chromium` Debian package needed): search shows the first-stage and reranked lists
// with each hit's kept/cut reason, the header names the pipeline, reranker and index, long chunk
// texts open and close whole, a label reaches every chunk of its document and comes back after a
// reload, and empty results say why. Skips only when chromium is not installed (scripts/setup
// installs it).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "serve_process.h"
#include "support/headless_chromium.h"

namespace winnow::testing {
namespace {

namespace fs = std::filesystem;

// An index whose expense policy is one document of several chunks, some longer than six lines.
std::string make_ui_index(const std::string& tag) {
    const fs::path root = fs::path(::testing::TempDir()) / ("winnow_ui_index_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "docs");
    std::string policy = "# Expense policy\n\n";
    for (int i = 0; i < 3; ++i) {
        policy += "Expenses over $500 require written approval from a department manager before reimbursement. ";
        policy += "The approval must name the cost centre, the project and the business reason. ";
        policy += "Receipts are attached to the reimbursement claim within thirty days of the expense. ";
        policy += "Late claims need a second approval from finance, and travel expenses follow the travel rules. ";
        policy += "\n\n";
    }
    std::ofstream(root / "docs" / "expenses.md") << policy;
    std::ofstream(root / "docs" / "cafeteria.md") << "# Cafeteria\n\nThe cafeteria opens at 8am on weekdays.\n";
    std::ofstream(root / "docs" / "minutes.md") << "# March minutes\n\nThe March meeting minutes were approved by "
                                                   "the board secretary after the expense report.\n";
    const std::string cmd = kBinary + " index --quiet --index " + (root / "index").string() + " --input " +
                            (root / "docs").string() +
                            " --format files --chunker 'paragraph(max_chars=400)' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "";
    return (root / "index").string();
}

// Runs a search from the form and waits for its outcome (a status other than "Searching…").
void search(HeadlessChromium& b, const std::string& query, const std::string& overrides = "") {
    b.eval(
        "document.querySelector('#status').textContent = '';"
        "document.querySelector('#query').value = " +
        Json(query).dump() +
        ";"
        "document.querySelector('#overrides').value = " +
        Json(overrides).dump() +
        ";"
        "document.querySelector('#search-button').click(); true");
    b.wait_for(
        "/ in \\d+ ms/.test(document.querySelector('#status').textContent) || "
        "document.querySelector('#status').className === 'error'");
}

TEST(WebUi, SearchSideBySideAndLabelInChromium) {
    const std::string chromium = HeadlessChromium::find();
    if (chromium.empty()) GTEST_SKIP() << "chromium not installed (scripts/setup installs it)";
    ASSERT_TRUE(have_fixtures());
    const std::string index = make_ui_index("main");
    ASSERT_FALSE(index.empty());
    const std::string qrels = index + "/ui.qrels";
    const std::string spec = "bm25(k=10) > rerank > cutoff(top_n=3)";
    ServeProcess p({"--port", "0", "--index", index, "--rerank-model", kModels + "/bert-ce", "--labels", qrels,
                    "--pipeline", spec});
    ASSERT_GT(p.port(), 0);
    const std::string base = "http://127.0.0.1:" + std::to_string(p.port());

    HeadlessChromium b(chromium);
    try {
        b.navigate(base + "/ui");
        // The header names what the server runs.
        b.wait_for("document.querySelector('#info code') !== null");
        const std::string info = b.eval("document.querySelector('#info').textContent");
        EXPECT_NE(info.find(spec), std::string::npos) << info;
        EXPECT_NE(info.find("reranker cross-encoder"), std::string::npos) << info;
        EXPECT_NE(info.find("bert-ce"), std::string::npos) << info;
        EXPECT_NE(info.find(" chunks)"), std::string::npos) << info;

        // Both lists, each hit with why it was kept or cut.
        search(b, "expense approval reimbursement");
        ASSERT_EQ(b.eval("document.querySelector('#status').className"), "")
            << b.eval("document.querySelector('#status').textContent");
        const int n_first = b.eval("document.querySelectorAll('#first-stage li').length");
        const int n_reranked = b.eval("document.querySelectorAll('#reranked li').length");
        EXPECT_EQ(n_reranked, 3);
        EXPECT_GT(n_first, n_reranked);
        EXPECT_TRUE(
            b.eval("[...document.querySelectorAll('#reranked li .reason')].every("
                   "r => r.classList.contains('kept') && r.textContent.startsWith('kept: rank'))"));
        EXPECT_EQ(b.eval("document.querySelectorAll('#reranked li .reason').length"), n_reranked);
        EXPECT_EQ(b.eval("[...document.querySelectorAll('#first-stage li.cut .reason.cut')]"
                         ".filter(r => r.textContent === 'cut: below top_n=3').length"),
                  n_first - n_reranked);
        EXPECT_TRUE(b.eval("document.querySelector('#empty').hidden"));

        // Long chunk texts: six whole lines, "Show more" opens the rest, "Show less" closes it.
        const std::string long_text =
            "[...document.querySelectorAll('#reranked li .text')].find(t => !t.nextElementSibling.hidden)";
        ASSERT_TRUE(b.eval("(" + long_text + ") !== undefined")) << "no chunk long enough to clamp";
        const Json clamp = b.eval("(() => { const t = " + long_text +
                                  "; const lh = parseFloat(getComputedStyle(t).lineHeight);"
                                  "return {h: t.clientHeight, full: t.scrollHeight, lines: t.clientHeight / lh}; })()");
        EXPECT_LT(clamp["h"].get<double>(), clamp["full"].get<double>());
        EXPECT_NEAR(clamp["lines"].get<double>(), 6.0, 0.05) << clamp.dump();  // whole lines, not a cut through one
        b.eval("(" + long_text + ").nextElementSibling.click(); true");
        b.wait_for("(" + long_text + ").classList.contains('expanded')");
        const Json open = b.eval("(() => { const t = " + long_text +
                                 "; return {h: t.clientHeight, full: t.scrollHeight,"
                                 "label: t.nextElementSibling.textContent}; })()");
        EXPECT_EQ(open["h"], open["full"]) << open.dump();
        EXPECT_EQ(open["label"], "Show less");
        b.eval("(" + long_text + ").nextElementSibling.click(); true");
        EXPECT_EQ(b.eval("(" + long_text + ").nextElementSibling.textContent"), "Show more");
        EXPECT_NEAR(b.eval("(" + long_text + ").clientHeight").get<double>(), clamp["h"].get<double>(), 0.5);

        // A label is the document's: every chunk of it shown, in both lists, takes it.
        const std::string doc = b.eval("document.querySelector('#reranked li').dataset.docId");
        const int chunks_of_doc =
            b.eval("document.querySelectorAll('li[data-doc-id=\"' + " + Json(doc).dump() + " + '\"]').length");
        EXPECT_GE(chunks_of_doc, 3) << "the test wants a document shown as several chunks";
        b.eval("document.querySelector('#reranked li .labels button[data-relevance=\"1\"]').click(); true");
        b.wait_for("document.querySelector('#status').textContent.startsWith('Saved')");
        const std::string all_of_doc =
            "[...document.querySelectorAll('.labels[data-doc-id=\"' + " + Json(doc).dump() + " + '\"]')]";
        EXPECT_TRUE(b.eval(all_of_doc +
                           ".every(l => l.dataset.saved === '1' && "
                           "l.querySelector('button[data-relevance=\"1\"]').classList.contains('on-good'))"));
        EXPECT_EQ(b.eval("document.querySelectorAll('.labels[data-saved]').length"), chunks_of_doc);
        std::ifstream in(qrels);
        std::string qid, iter, labelled;
        int rel = -1;
        ASSERT_TRUE(in >> qid >> iter >> labelled >> rel) << "no label in " << qrels;
        EXPECT_EQ(labelled, doc);
        EXPECT_EQ(rel, 1);

        // ... and after a reload, the same search shows the saved label again.
        b.reload();
        search(b, "expense approval reimbursement");
        b.wait_for(all_of_doc + ".length > 0 && " + all_of_doc + ".every(l => l.dataset.saved === '1')");
        EXPECT_EQ(b.eval("document.querySelectorAll('.labels[data-saved]').length"), chunks_of_doc);
        const std::string shot = ::testing::TempDir() + "/winnow_ui.png";
        std::ofstream(shot, std::ios::binary) << b.screenshot_png();
        EXPECT_GT(fs::file_size(shot), 1000u);

        // Empty results say why instead of "0 results".
        search(b, "zyzzyva quux");
        EXPECT_FALSE(b.eval("document.querySelector('#empty').hidden"));
        EXPECT_EQ(b.eval("document.querySelector('#empty').dataset.reason"), "no_indexed_terms");
        const std::string none = b.eval("document.querySelector('#empty').textContent");
        EXPECT_NE(none.find("No results for \u201czyzzyva quux\u201d"), std::string::npos) << none;
        EXPECT_NE(none.find("None of the query's terms occurs in the index"), std::string::npos) << none;
        EXPECT_EQ(b.eval("document.querySelector('#status').textContent.startsWith('No results in')"), true);
        search(b, "expense approval reimbursement", "bm25(k=10) > cutoff(tokens=1, min_keep=0)");
        EXPECT_EQ(b.eval("document.querySelector('#empty').dataset.reason"), "all_cut");
        const std::string cut = b.eval("document.querySelector('#empty').textContent");
        EXPECT_NE(cut.find("the cutoff removed every one"), std::string::npos) << cut;
        EXPECT_EQ(b.eval("document.querySelectorAll('#reranked li').length"), 0);
        EXPECT_GT(b.eval("document.querySelectorAll('#first-stage li.cut').length").get<int>(), 0);
        search(b, "expense approval reimbursement");  // a later search hides the message again
        EXPECT_TRUE(b.eval("document.querySelector('#empty').hidden"));
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    EXPECT_TRUE(b.page_errors().empty()) << b.page_errors().front();
    EXPECT_EQ(p.terminate(), 0);
}

TEST(WebUi, EmptyIndexSaysSoInChromium) {
    const std::string chromium = HeadlessChromium::find();
    if (chromium.empty()) GTEST_SKIP() << "chromium not installed (scripts/setup installs it)";
    ASSERT_TRUE(fs::exists(kBinary));
    // An index whose only document was removed again.
    const fs::path root = fs::path(::testing::TempDir()) / ("winnow_ui_empty_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "docs");
    std::ofstream(root / "docs" / "a.md") << "# A\n\nSome text about expenses.\n";
    const std::string index = (root / "index").string();
    const std::string add = kBinary + " index --quiet --index " + index + " --input " + (root / "docs").string() +
                            " --format files > /dev/null 2>&1";
    ASSERT_EQ(std::system(add.c_str()), 0);
    const std::string remove = kBinary + " index --quiet --index " + index + " --delete-path " +
                               (root / "docs" / "a.md").string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(remove.c_str()), 0);
    ServeProcess p({"--port", "0", "--index", index});
    ASSERT_GT(p.port(), 0);

    HeadlessChromium b(chromium);
    try {
        b.navigate("http://127.0.0.1:" + std::to_string(p.port()) + "/ui");
        b.wait_for("document.querySelector('#info code') !== null");
        const std::string info = b.eval("document.querySelector('#info').textContent");
        EXPECT_NE(info.find("(0 chunks)"), std::string::npos) << info;
        EXPECT_NE(info.find("none (first-stage order)"), std::string::npos) << info;
        search(b, "expenses");
        EXPECT_EQ(b.eval("document.querySelector('#empty').dataset.reason"), "empty_index");
        const std::string text = b.eval("document.querySelector('#empty').textContent");
        EXPECT_NE(text.find("The index is empty"), std::string::npos) << text;
        EXPECT_NE(text.find("winnow index --index DIR --input FILES"), std::string::npos) << text;
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    EXPECT_TRUE(b.page_errors().empty()) << b.page_errors().front();
    EXPECT_EQ(p.terminate(), 0);
}

}  // namespace
}  // namespace winnow::testing
