// A local stand-in for the Hugging Face Hub (cpp-httplib, loopback, any port) serving model folders
// with the Hub's URL layout, for pull tests (point HF_ENDPOINT at url()):
//   GET /api/models/<org>/<name>/revision/<rev>  -> {"id", "sha", "siblings": [{"rfilename"}]}
//   GET|HEAD /<org>/<name>/resolve/<rev>/<file>   -> the bytes; X-Repo-Commit, ETag (git blob sha1),
//        and for *.safetensors the LFS headers X-Linked-Etag (sha256) and X-Linked-Size.
// Range requests are honoured. Knobs: corrupt(file) serves altered bytes under the true etag;
// require_token(t) answers 401 without "Authorization: Bearer t".
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace winnow::test {

class MockHubServer {
public:
    static constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

    MockHubServer() {
        server_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++api_calls_;
            if (!authorized(req, res)) return;
            const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
            const std::string rev = req.matches[3].str();
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = repos_.find(repo);
            if (it == repos_.end() || (rev != "main" && rev != kCommit)) {
                res.status = 404;
                res.set_header("X-Error-Message", "Repository not found");
                res.set_content(R"({"error": "Repository not found"})", "application/json");
                return;
            }
            nlohmann::json siblings = nlohmann::json::array();
            for (const auto& [name, content] : it->second) siblings.push_back({{"rfilename", name}});
            res.set_content(nlohmann::json({{"id", repo}, {"sha", kCommit}, {"siblings", siblings}}).dump(),
                            "application/json");
        });
        server_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res)) return;
            const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
            const std::string rev = req.matches[3].str();
            const std::string file = req.matches[4].str();
            std::lock_guard<std::mutex> lock(mutex_);
            if (req.method == "GET") {
                ++downloads_;
                ranges_seen_.push_back(req.get_header_value("Range"));
            }
            auto it = repos_.find(repo);
            if (it == repos_.end() || (rev != "main" && rev != kCommit) || !it->second.count(file)) {
                res.status = 404;
                res.set_header("X-Error-Message", "Entry not found");
                return;
            }
            const std::string& content = it->second.at(file);
            res.set_header("X-Repo-Commit", kCommit);
            const bool lfs = file.size() > 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0;
            if (lfs) {
                res.set_header("X-Linked-Etag", "\"" + hex_digest(EVP_sha256(), content, "") + "\"");
                res.set_header("X-Linked-Size", std::to_string(content.size()));
            }
            std::string prefix = "blob " + std::to_string(content.size());
            prefix.push_back('\0');
            res.set_header("ETag", "\"" + hex_digest(EVP_sha1(), content, prefix) + "\"");
            std::string body = content;
            if (corrupt_.count(file) && !body.empty()) body[body.size() / 2] ^= 0x5a;
            res.set_content(body, "application/octet-stream");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~MockHubServer() {
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }
    MockHubServer(const MockHubServer&) = delete;
    MockHubServer& operator=(const MockHubServer&) = delete;

    // Serves every regular file of `folder` (recursively) as repo `repo_id`.
    void add_folder(const std::string& repo_id, const std::string& folder) {
        namespace fs = std::filesystem;
        std::map<std::string, std::string> files;
        for (const auto& e : fs::recursive_directory_iterator(folder)) {
            if (!e.is_regular_file()) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            files[fs::relative(e.path(), folder).generic_string()] = ss.str();
        }
        std::lock_guard<std::mutex> lock(mutex_);
        repos_[repo_id] = std::move(files);
    }
    void corrupt(const std::string& file) {
        std::lock_guard<std::mutex> lock(mutex_);
        corrupt_[file] = true;
    }
    void require_token(const std::string& token) {
        std::lock_guard<std::mutex> lock(mutex_);
        token_ = token;
    }
    std::string file_content(const std::string& repo_id, const std::string& file) {
        std::lock_guard<std::mutex> lock(mutex_);
        return repos_.at(repo_id).at(file);
    }
    std::vector<std::string> ranges_seen() {
        std::lock_guard<std::mutex> lock(mutex_);
        return ranges_seen_;
    }
    int downloads() const { return downloads_.load(); }
    int api_calls() const { return api_calls_.load(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    static std::string hex_digest(const EVP_MD* md, const std::string& data, const std::string& prefix) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, md, nullptr);
        EVP_DigestUpdate(ctx, prefix.data(), prefix.size());
        EVP_DigestUpdate(ctx, data.data(), data.size());
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx, out, &len);
        EVP_MD_CTX_free(ctx);
        static const char* kHex = "0123456789abcdef";
        std::string hex;
        for (unsigned i = 0; i < len; ++i) {
            hex += kHex[out[i] >> 4];
            hex += kHex[out[i] & 15];
        }
        return hex;
    }

private:
    bool authorized(const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (token_.empty() || req.get_header_value("Authorization") == "Bearer " + token_) return true;
        res.status = 401;
        res.set_header("X-Error-Message", "Invalid credentials");
        return false;
    }

    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    std::mutex mutex_;
    std::map<std::string, std::map<std::string, std::string>> repos_;
    std::map<std::string, bool> corrupt_;
    std::string token_;
    std::vector<std::string> ranges_seen_;
    std::atomic<int> downloads_{0};
    std::atomic<int> api_calls_{0};
};

}  // namespace winnow::test
