// `winnow pull` machinery against a local Hub stand-in serving the fixture model folders.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/hub.h"
#include "models/model_path.h"
#include "server/hub_mock/mock_hub_server.h"
#include "winnow/error.h"

namespace fs = std::filesystem;
using winnow::Errc;

namespace {

const std::string kFixture = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce";
const std::string kRepo = "winnow-test/bert-ce";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class HubPull : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/winnow_hub_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        cache_ = tmpl;
        hub_.add_folder(kRepo, kFixture);
        options_.endpoint = hub_.url();
        options_.cache_dir = cache_;
        options_.timeout_s = 10;
    }
    void TearDown() override { fs::remove_all(cache_); }

    Errc error_of(const std::function<void()>& fn, std::string* message = nullptr) {
        try {
            fn();
        } catch (const winnow::Error& e) {
            if (message) *message = e.what();
            return e.code();
        }
        ADD_FAILURE() << "no error";
        return Errc::Internal;
    }

    winnow::test::MockHubServer hub_;
    winnow::hub::HubOptions options_;
    std::string cache_;
};

}  // namespace

TEST_F(HubPull, DownloadsIntoTheHfCacheLayout) {
    auto r = winnow::hub::pull(kRepo, "main", options_);
    const fs::path repo_dir = fs::path(cache_) / "models--winnow-test--bert-ce";
    EXPECT_EQ(r.commit, winnow::test::MockHubServer::kCommit);
    EXPECT_EQ(fs::path(r.snapshot_dir), repo_dir / "snapshots" / r.commit);
    EXPECT_EQ(slurp(repo_dir / "refs" / "main"), r.commit);
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(kFixture)) {
        if (!e.is_regular_file()) continue;
        ++n;
        const fs::path link = fs::path(r.snapshot_dir) / e.path().filename();
        ASSERT_TRUE(fs::is_symlink(link)) << link;
        const fs::path target = fs::read_symlink(link);
        EXPECT_TRUE(target.is_relative()) << target;
        EXPECT_EQ(target.parent_path().filename(), "blobs");
        EXPECT_EQ(slurp(link), slurp(e.path())) << e.path();
    }
    EXPECT_EQ(r.n_files, n);
    EXPECT_EQ(r.n_downloaded, n);
    EXPECT_EQ(r.n_cached, 0u);
    // The LFS file's blob is named by its sha256.
    const std::string sha = winnow::hub::sha256_file(kFixture + "/model.safetensors");
    EXPECT_TRUE(fs::is_regular_file(repo_dir / "blobs" / sha));
    EXPECT_EQ(fs::read_symlink(fs::path(r.snapshot_dir) / "model.safetensors"), fs::path("../../blobs") / sha);
    // A second pull downloads nothing.
    const int before = hub_.downloads();
    auto again = winnow::hub::pull(kRepo, "main", options_);
    EXPECT_EQ(hub_.downloads(), before);
    EXPECT_EQ(again.n_cached, n);
    EXPECT_EQ(again.n_downloaded, 0u);
    EXPECT_EQ(winnow::hub::cached_snapshot(kRepo, "main", options_), r.snapshot_dir);
    EXPECT_EQ(winnow::hub::cached_snapshot(kRepo, r.commit, options_), r.snapshot_dir);
    EXPECT_FALSE(winnow::hub::cached_snapshot(kRepo, "v2", options_).has_value());
}

TEST_F(HubPull, ResumesAPartialDownload) {
    const std::string content = hub_.file_content(kRepo, "model.safetensors");
    const std::string sha = winnow::hub::sha256_file(kFixture + "/model.safetensors");
    const fs::path blobs = fs::path(cache_) / "models--winnow-test--bert-ce" / "blobs";
    fs::create_directories(blobs);
    const std::size_t half = content.size() / 2;
    {
        std::ofstream out(blobs / (sha + ".incomplete"), std::ios::binary);
        out.write(content.data(), static_cast<std::streamsize>(half));
    }
    auto r = winnow::hub::pull(kRepo, "main", options_);
    EXPECT_EQ(r.n_resumed, 1u);
    const auto ranges = hub_.ranges_seen();
    EXPECT_NE(std::find(ranges.begin(), ranges.end(), "bytes=" + std::to_string(half) + "-"), ranges.end());
    EXPECT_EQ(slurp(fs::path(r.snapshot_dir) / "model.safetensors"), content);
    EXPECT_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_F(HubPull, ChecksumMismatchIsCorruptAndLeavesNothing) {
    hub_.corrupt("model.safetensors");
    std::string message;
    EXPECT_EQ(error_of([&] { winnow::hub::pull(kRepo, "main", options_); }, &message), Errc::Corrupt);
    EXPECT_NE(message.find("checksum mismatch"), std::string::npos) << message;
    EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
    const fs::path blobs = fs::path(cache_) / "models--winnow-test--bert-ce" / "blobs";
    const std::string sha = winnow::hub::sha256_file(kFixture + "/model.safetensors");
    EXPECT_FALSE(fs::exists(blobs / sha));
    EXPECT_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_F(HubPull, NonLfsFilesAreVerifiedByGitBlobSha1) {
    hub_.corrupt("config.json");
    std::string message;
    EXPECT_EQ(error_of([&] { winnow::hub::pull(kRepo, "main", options_); }, &message), Errc::Corrupt);
    EXPECT_NE(message.find("config.json"), std::string::npos) << message;
}

TEST_F(HubPull, OfflineUsesOnlyTheCache) {
    options_.offline = true;
    std::string message;
    EXPECT_EQ(error_of([&] { winnow::hub::pull(kRepo, "main", options_); }, &message), Errc::NotFound);
    EXPECT_NE(message.find("HF_HUB_OFFLINE"), std::string::npos) << message;
    EXPECT_EQ(hub_.api_calls(), 0);
    options_.offline = false;
    auto online = winnow::hub::pull(kRepo, "main", options_);
    const int calls = hub_.api_calls();
    options_.offline = true;
    auto offline = winnow::hub::pull(kRepo, "main", options_);
    EXPECT_EQ(offline.snapshot_dir, online.snapshot_dir);
    EXPECT_EQ(hub_.api_calls(), calls);
}

TEST_F(HubPull, ErrorsNameTheRepo) {
    std::string message;
    EXPECT_EQ(error_of([&] { winnow::hub::pull("winnow-test/missing", "main", options_); }, &message), Errc::NotFound);
    EXPECT_NE(message.find("winnow-test/missing"), std::string::npos) << message;
    EXPECT_EQ(error_of([&] { winnow::hub::pull(kRepo, "no-such-branch", options_); }), Errc::NotFound);
    EXPECT_EQ(error_of([&] { winnow::hub::pull("not a repo", "main", options_); }), Errc::InvalidArgument);
    hub_.require_token("hf_secret");
    EXPECT_EQ(error_of([&] { winnow::hub::pull(kRepo, "main", options_); }, &message), Errc::Unauthorized);
    EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
    options_.token = "hf_secret";
    auto r = winnow::hub::pull(kRepo, "main", options_);
    EXPECT_GT(r.n_files, 0u);
    EXPECT_EQ(r.n_downloaded, r.n_files);
}

TEST_F(HubPull, RepoIdsAndFolderNames) {
    EXPECT_TRUE(winnow::hub::is_repo_id("BAAI/bge-reranker-v2-m3"));
    EXPECT_TRUE(winnow::hub::is_repo_id("cross-encoder/ms-marco-MiniLM-L6-v2"));
    EXPECT_FALSE(winnow::hub::is_repo_id("models/x/y"));
    EXPECT_FALSE(winnow::hub::is_repo_id("/abs/path"));
    EXPECT_FALSE(winnow::hub::is_repo_id("../x"));
    EXPECT_FALSE(winnow::hub::is_repo_id("noslash"));
    EXPECT_EQ(winnow::hub::repo_folder_name("BAAI/bge-m3"), "models--BAAI--bge-m3");
}

TEST_F(HubPull, ResolveModelPathAcceptsFoldersAndHubIds) {
    ::setenv("HF_ENDPOINT", hub_.url().c_str(), 1);
    ::setenv("HF_HUB_CACHE", cache_.c_str(), 1);
    ::unsetenv("HF_HUB_OFFLINE");
    EXPECT_EQ(winnow::resolve_model_path(kFixture), kFixture);
    const std::string snap = winnow::resolve_model_path(kRepo);  // downloads
    EXPECT_TRUE(fs::is_regular_file(fs::path(snap) / "config.json"));
    EXPECT_EQ(winnow::resolve_model_path(kRepo + "@main"), snap);
    ::setenv("HF_HUB_OFFLINE", "1", 1);
    EXPECT_EQ(winnow::resolve_model_path(kRepo), snap);  // cached, offline is fine
    std::string message;
    EXPECT_EQ(error_of([&] { winnow::resolve_model_path("winnow-test/other"); }, &message), Errc::NotFound);
    EXPECT_NE(message.find("winnow pull winnow-test/other"), std::string::npos) << message;
    EXPECT_EQ(error_of([&] { winnow::resolve_model_path("/no/such/folder/x"); }), Errc::NotFound);
    ::unsetenv("HF_HUB_OFFLINE");
    ::unsetenv("HF_ENDPOINT");
    ::unsetenv("HF_HUB_CACHE");
}
