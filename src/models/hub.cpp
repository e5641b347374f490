#include "models/hub.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "core/atomic_file.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/log.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

namespace winnow::hub {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool truthy(std::string v) {
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v == "1" || v == "true" || v == "yes" || v == "on";
}

bool is_hex(std::string_view s, std::size_t n) {
    return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

enum class Method { Get, Head };

// One request (a transport failure throws). `sink` receives the body of a successful GET (status
// < 300) when given; error bodies always go to the reply's body.
http::Reply request(const std::string& url, Method method, bool follow, const HubOptions& options,
                    std::FILE* sink = nullptr, std::uint64_t range_from = 0, std::uint64_t total = 0,
                    const std::string* file = nullptr) {
    http::Request r;
    r.method = method == Method::Head ? "HEAD" : "GET";
    r.url = url;
    r.headers.clear();
    if (!options.token.empty()) r.headers.push_back("Authorization: Bearer " + options.token);
    r.follow_redirects = follow;
    r.range_from = range_from;
    r.user_agent = "winnow/hub";
    r.connect_timeout_ms = static_cast<long>(options.connect_timeout_s * 1000);
    // A stall (under 1 byte/s for timeout_s) is a timeout; big files may take long in total.
    r.timeout_ms = 0;
    r.stall_timeout_ms = std::max(1000L, static_cast<long>(options.timeout_s * 1000));
    bool write_failed = false;
    std::uint64_t written = 0;
    if (sink != nullptr) {
        r.on_body = [&](std::string_view bytes) {
            if (std::fwrite(bytes.data(), 1, bytes.size(), sink) != bytes.size()) {
                write_failed = true;
                return false;
            }
            written += bytes.size();
            if (options.on_progress) options.on_progress(*file, range_from + written, total);
            return true;
        };
    }
    http::Reply reply = http::send(r);
    if (write_failed) WINNOW_THROW(Errc::Io, "hub: cannot write the download of {} (disk full?)", url);
    if (reply.timed_out) WINNOW_THROW(Errc::Timeout, "hub: {} stalled for {:.0f} s", url, options.timeout_s);
    if (!reply.ok) WINNOW_THROW(Errc::Io, "hub: {}: {}", url, reply.error);
    return reply;
}

[[noreturn]] void throw_status(const http::Reply& r, const std::string& url, std::string_view what) {
    std::string detail = r.headers.count("x-error-message") ? r.headers.at("x-error-message") : r.body.substr(0, 200);
    if (r.status == 401 || r.status == 403) {
        WINNOW_THROW(Errc::Unauthorized, "hub: {} needs authorization (HTTP {}; set HF_TOKEN for gated or private "
                     "repos): {}", what, r.status, url);
    }
    if (r.status == 404) WINNOW_THROW(Errc::NotFound, "hub: {} not found (HTTP 404): {} {}", what, url, detail);
    if (r.status == 429) WINNOW_THROW(Errc::Overloaded, "hub: rate limited (HTTP 429): {}", url);
    WINNOW_THROW(Errc::Io, "hub: {} failed with HTTP {}: {} {}", what, r.status, url, detail);
}

// Percent-encodes a revision or a file path (each segment apart when keep_slash).
std::string escape(std::string_view s, bool keep_slash) {
    std::string out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t slash = keep_slash ? s.find('/', start) : std::string_view::npos;
        out += http::escape(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        out += '/';
        start = slash + 1;
    }
    return out;
}

std::string clean_etag(std::string etag) {
    if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    return etag;
}

bool skipped_by_default(const std::string& file, bool has_safetensors) {
    static const char* kDirs[] = {"onnx/", "openvino/", "coreml/", "tf/", "flax/"};
    for (const char* d : kDirs) {
        if (file.rfind(d, 0) == 0 || file.find(std::string("/") + d) != std::string::npos) return true;
    }
    static const char* kExts[] = {".onnx", ".onnx_data", ".h5", ".msgpack", ".ot", ".gguf", ".tflite", ".mlmodel", ".pb"};
    for (const char* e : kExts) {
        const std::string ext(e);
        if (file.size() >= ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0) return true;
    }
    if (has_safetensors && file.size() > 4 && file.compare(file.size() - 4, 4, ".bin") == 0 &&
        file.find("pytorch_model") != std::string::npos) {
        return true;
    }
    return false;
}

std::string digest_file(const std::string& path, const EVP_MD* md, std::string_view prefix) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    WINNOW_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1, Errc::Internal, "hub: digest init failed");
    if (!prefix.empty()) EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
    std::ifstream in(path, std::ios::binary);
    WINNOW_CHECK(in.good(), Errc::Io, "hub: cannot read {}", path);
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out, &len);
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
    return hex;
}

void write_text(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    write_file_atomic(path.string(), text);
}

std::string read_trimmed(const fs::path& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

void link_into_snapshot(const fs::path& repo_dir, const std::string& commit, const std::string& file,
                        const std::string& etag) {
    const fs::path link = repo_dir / "snapshots" / commit / file;
    fs::create_directories(link.parent_path());
    std::string target;
    const auto depth = static_cast<std::size_t>(std::count(file.begin(), file.end(), '/'));
    for (std::size_t i = 0; i < depth + 2; ++i) target += "../";
    target += "blobs/" + etag;
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink(target, link, ec);
    if (ec) {  // no symlinks on this file system: copy, as huggingface_hub does
        fs::copy_file(repo_dir / "blobs" / etag, link, fs::copy_options::overwrite_existing);
    }
}

}  // namespace

HubOptions options_from_env() {
    HubOptions o;
    o.endpoint = env("HF_ENDPOINT");
    if (o.endpoint.empty()) o.endpoint = "https://huggingface.co";
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    o.cache_dir = env("HF_HUB_CACHE");
    if (o.cache_dir.empty()) {
        std::string home = env("HF_HOME");
        if (home.empty()) {
            std::string xdg = env("XDG_CACHE_HOME");
            if (xdg.empty()) xdg = env("HOME").empty() ? std::string("/tmp") : env("HOME") + "/.cache";
            home = xdg + "/huggingface";
        }
        o.cache_dir = home + "/hub";
    }
    o.token = env("HF_TOKEN");
    if (o.token.empty()) o.token = env("HUGGING_FACE_HUB_TOKEN");
    o.offline = truthy(env("HF_HUB_OFFLINE"));
    return o;
}

bool is_repo_id(std::string_view name) {
    const std::size_t slash = name.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= name.size()) return false;
    if (name.find('/', slash + 1) != std::string_view::npos) return false;
    if (name.find("..") != std::string_view::npos || name.front() == '.' || name[slash + 1] == '.') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
    });
}

std::string repo_folder_name(std::string_view repo_id) {
    std::string out = "models--";
    for (char c : repo_id) {
        if (c == '/') out += "--";
        else out += c;
    }
    return out;
}

std::optional<std::string> cached_snapshot(std::string_view repo_id, std::string_view revision,
                                           const HubOptions& options) {
    if (!is_repo_id(repo_id)) return std::nullopt;
    const fs::path repo_dir = fs::path(options.cache_dir) / repo_folder_name(repo_id);
    std::string commit(revision);
    if (!is_hex(revision, 40)) {
        const fs::path ref = repo_dir / "refs" / std::string(revision);
        std::error_code ec;
        if (!fs::is_regular_file(ref, ec)) return std::nullopt;
        commit = read_trimmed(ref);
    }
    const fs::path snap = repo_dir / "snapshots" / commit;
    std::error_code ec;
    if (commit.empty() || !fs::is_directory(snap, ec)) return std::nullopt;
    return snap.string();
}

std::vector<std::string> cached_repos(const HubOptions& options) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(options.cache_dir, ec)) return out;
    for (const auto& e : fs::directory_iterator(options.cache_dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("models--", 0) != 0) continue;
        std::string rest = name.substr(8);
        const auto sep = rest.find("--");
        if (sep == std::string::npos) continue;
        const std::string repo = rest.substr(0, sep) + "/" + rest.substr(sep + 2);
        if (cached_snapshot(repo, "main", options)) out.push_back(repo);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string sha256_file(const std::string& path) { return digest_file(path, EVP_sha256(), ""); }

std::string git_blob_sha1_file(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    WINNOW_CHECK(!ec, Errc::Io, "hub: cannot stat {}", path);
    std::string prefix = "blob " + std::to_string(size);
    prefix.push_back('\0');
    return digest_file(path, EVP_sha1(), prefix);
}

PullResult pull(std::string_view repo_id_view, std::string_view revision_view, const HubOptions& options) {
    const std::string repo_id(repo_id_view);
    const std::string revision = revision_view.empty() ? std::string("main") : std::string(revision_view);
    WINNOW_CHECK(is_repo_id(repo_id), Errc::InvalidArgument, "hub: '{}' is not a repo id of the form org/name", repo_id);
    WINNOW_CHECK(revision.find("..") == std::string::npos, Errc::InvalidArgument, "hub: bad revision '{}'", revision);
    WINNOW_CHECK(!options.cache_dir.empty(), Errc::InvalidArgument, "hub: no cache folder (set HF_HUB_CACHE or HF_HOME)");
    const fs::path repo_dir = fs::path(options.cache_dir) / repo_folder_name(repo_id);

    PullResult result;
    if (options.offline) {
        auto snap = cached_snapshot(repo_id, revision, options);
        WINNOW_CHECK(snap.has_value(), Errc::NotFound,
                     "hub: HF_HUB_OFFLINE is set and {}@{} is not in the cache {} (pull it while online)", repo_id,
                     revision, options.cache_dir);
        result.snapshot_dir = *snap;
        result.commit = fs::path(*snap).filename().string();
        for (auto it = fs::recursive_directory_iterator(*snap); it != fs::recursive_directory_iterator(); ++it) {
            if (!it->is_directory()) ++result.n_files;
        }
        result.n_cached = result.n_files;
        return result;
    }

    // 1. The revision's commit and file list.
    const std::string api_url = options.endpoint + "/api/models/" + repo_id + "/revision/" + escape(revision, false);
    http::Reply info = request(api_url, Method::Get, true, options);
    if (info.status >= 300) throw_status(info, api_url, "repo " + repo_id + "@" + revision);
    Json meta;
    try {
        meta = Json::parse(info.body);
    } catch (const nlohmann::json::exception&) {
        WINNOW_THROW(Errc::Corrupt, "hub: {} did not answer JSON", api_url);
    }
    const std::string commit = json_get<std::string>(meta, "sha", api_url);
    WINNOW_CHECK(is_hex(commit, 40), Errc::Corrupt, "hub: {}: 'sha' is not a commit hash: {}", api_url, commit);
    std::vector<std::string> files;
    if (meta.contains("siblings") && meta["siblings"].is_array()) {
        for (const auto& s : meta["siblings"]) files.push_back(json_get<std::string>(s, "rfilename", api_url));
    }
    WINNOW_CHECK(!files.empty(), Errc::NotFound, "hub: {}@{} lists no files", repo_id, revision);
    const bool has_safetensors = std::any_of(files.begin(), files.end(), [](const std::string& f) {
        return f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0;
    });
    result.commit = commit;

    fs::create_directories(repo_dir / "blobs");
    for (const std::string& file : files) {
        WINNOW_CHECK(file.find("..") == std::string::npos && !file.empty() && file.front() != '/', Errc::Corrupt,
                     "hub: {} lists an unsafe file name '{}'", api_url, file);
        if (!options.all_files && skipped_by_default(file, has_safetensors)) {
            log::debug("hub: skipping {} (other framework's weights; --all-files to fetch)", file);
            continue;
        }
        ++result.n_files;
        const std::string url = options.endpoint + "/" + repo_id + "/resolve/" + commit + "/" + escape(file, true);
        // 2. The etag (sha256 for LFS files) and size, from the headers of the (unfollowed) response.
        http::Reply head = request(url, Method::Head, false, options);
        if (head.status >= 300 && head.status < 400 && !head.headers.count("x-linked-etag") && !head.headers.count("etag")) {
            head = request(url, Method::Head, true, options);
        }
        if (head.status >= 400) throw_status(head, url, "file " + file);
        std::string etag = clean_etag(head.headers.count("x-linked-etag") ? head.headers["x-linked-etag"]
                                                                          : head.headers["etag"]);
        WINNOW_CHECK(!etag.empty() && etag.find('/') == std::string::npos, Errc::Corrupt,
                     "hub: {} sent no usable ETag", url);
        std::uint64_t size = 0;
        const std::string size_header = head.headers.count("x-linked-size") ? head.headers["x-linked-size"]
                                                                            : head.headers["content-length"];
        if (!size_header.empty()) size = std::strtoull(size_header.c_str(), nullptr, 10);

        const fs::path blob = repo_dir / "blobs" / etag;
        std::error_code ec;
        if (fs::is_regular_file(blob, ec)) {
            ++result.n_cached;
            link_into_snapshot(repo_dir, commit, file, etag);
            continue;
        }
        // 3. Download, resuming a partial file.
        const fs::path partial = repo_dir / "blobs" / (etag + ".incomplete");
        std::uint64_t have = fs::is_regular_file(partial, ec) ? fs::file_size(partial, ec) : 0;
        if (size > 0 && have > size) {
            fs::remove(partial, ec);
            have = 0;
        }
        bool resumed = false;
        if (size == 0 || have < size) {
            std::FILE* out = std::fopen(partial.c_str(), have > 0 ? "ab" : "wb");
            WINNOW_CHECK(out != nullptr, Errc::Io, "hub: cannot write {}", partial.string());
            http::Reply got;
            try {
                got = request(url, Method::Get, true, options, out, have, size, &file);
            } catch (...) {
                std::fclose(out);  // keep the partial file for a later resume
                throw;
            }
            std::fclose(out);
            if (got.status == 416 || (have > 0 && got.status == 200)) {
                // The server ignored or refused the range: the partial file is unusable. Start over.
                fs::remove(partial, ec);
                if (got.status == 416) {
                    out = std::fopen(partial.c_str(), "wb");
                    WINNOW_CHECK(out != nullptr, Errc::Io, "hub: cannot write {}", partial.string());
                    got = request(url, Method::Get, true, options, out, 0, size, &file);
                    std::fclose(out);
                } else {
                    WINNOW_THROW(Errc::Io, "hub: {} ignored the Range request; the partial download was removed, "
                                 "run the pull again", url);
                }
                have = 0;
            }
            if (got.status >= 400) {
                fs::remove(partial, ec);
                throw_status(got, url, "file " + file);
            }
            resumed = have > 0;
            result.bytes_downloaded += fs::file_size(partial, ec) - have;
        }
        // 4. Verify, then move into place.
        std::string actual;
        if (is_hex(etag, 64)) actual = sha256_file(partial.string());
        else if (is_hex(etag, 40)) actual = git_blob_sha1_file(partial.string());
        if (!actual.empty() && actual != lower(etag)) {
            fs::remove(partial, ec);
            WINNOW_THROW(Errc::Corrupt, "hub: checksum mismatch for {} of {}: expected {}, got {} (the download was "
                         "removed; run the pull again)", file, repo_id, etag, actual);
        }
        if (size > 0) {
            const auto got_size = fs::file_size(partial, ec);
            WINNOW_CHECK(got_size == size, Errc::Corrupt, "hub: {} of {}: expected {} bytes, got {}", file, repo_id,
                         size, got_size);
        }
        fs::rename(partial, blob);
        ++result.n_downloaded;
        if (resumed) ++result.n_resumed;
        link_into_snapshot(repo_dir, commit, file, etag);
    }
    if (revision != commit) write_text(repo_dir / "refs" / revision, commit);
    result.snapshot_dir = (repo_dir / "snapshots" / commit).string();
    return result;
}

}  // namespace winnow::hub
