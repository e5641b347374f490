// Hugging Face Hub downloads into the standard HF cache layout, shared with the Python tools:
//   <cache>/models--<org>--<name>/blobs/<etag>                  file contents, named by their etag
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file>      relative symlinks into blobs/
//   <cache>/models--<org>--<name>/refs/<revision>                the commit a branch/tag points to
// <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. The endpoint is
// $HF_ENDPOINT (default https://huggingface.co), the token $HF_TOKEN, offline mode $HF_HUB_OFFLINE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::hub {

struct HubOptions {
    std::string endpoint;   // no trailing slash
    std::string cache_dir;  // the hub cache (the folder holding models--*)
    std::string token;      // sent as a Bearer token when not empty
    bool offline = false;   // never touch the network; resolve from the cache only
    double timeout_s = 600.0;       // per file
    double connect_timeout_s = 15.0;
    bool all_files = false;  // false: skip other frameworks' weights (onnx, tf, flax, *.bin next to safetensors)
    // Progress of the current file: (file, bytes done, bytes total or 0 when unknown).
    std::function<void(const std::string&, std::uint64_t, std::uint64_t)> on_progress;
};

// Options from the environment (HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, HF_TOKEN or
// HUGGING_FACE_HUB_TOKEN, HF_HUB_OFFLINE = 1|true|yes|on).
HubOptions options_from_env();

// True for "org/name" shaped ids (one slash, no leading '/', '.', '~', no "..", allowed
// characters A-Z a-z 0-9 - _ .). Says nothing about whether the repo exists.
bool is_repo_id(std::string_view name);
// "models--org--name"
std::string repo_folder_name(std::string_view repo_id);

// The cached snapshot folder of repo_id at revision (a branch, tag or commit), if the cache has
// one; never uses the network.
std::optional<std::string> cached_snapshot(std::string_view repo_id, std::string_view revision,
                                           const HubOptions& options);

// Repo ids ("org/name") with a snapshot for refs/main in the cache, sorted.
std::vector<std::string> cached_repos(const HubOptions& options);

struct PullResult {
    std::string snapshot_dir;
    std::string commit;
    std::size_t n_files = 0;       // files in the snapshot
    std::size_t n_downloaded = 0;  // fetched now (fully or resumed)
    std::size_t n_resumed = 0;     // of which continued from a partial download
    std::size_t n_cached = 0;      // already in blobs/
    std::uint64_t bytes_downloaded = 0;
};

// Downloads (or finds) repo_id at revision. Resumes partial downloads (blobs/<etag>.incomplete),
// verifies each file against its etag (sha256 for LFS files, the git blob sha1 otherwise) and
// writes refs/<revision>. In offline mode returns the cached snapshot or throws NotFound.
// Errors: NotFound (no such repo/revision/file), Unauthorized (gated or private: set HF_TOKEN),
// Io, Timeout, Corrupt (checksum mismatch; the partial file is deleted).
PullResult pull(std::string_view repo_id, std::string_view revision, const HubOptions& options);

// sha256 / git blob sha1 of a file as lowercase hex (used for verification; exposed for tests).
std::string sha256_file(const std::string& path);
std::string git_blob_sha1_file(const std::string& path);

}  // namespace winnow::hub
