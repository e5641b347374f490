#include "models/model_path.h"

#include <filesystem>

#include "core/log.h"
#include "models/hub.h"
#include "winnow/error.h"

namespace winnow {

std::string resolve_model_path(const std::string& model, bool allow_download) {
    WINNOW_CHECK(!model.empty(), Errc::InvalidArgument, "no model given (a local folder or a hub id org/name)");
    std::error_code ec;
    if (std::filesystem::exists(model, ec)) return model;

    std::string repo_id = model;
    std::string revision = "main";
    if (const auto at = model.rfind('@'); at != std::string::npos) {
        repo_id = model.substr(0, at);
        revision = model.substr(at + 1);
    }
    WINNOW_CHECK(hub::is_repo_id(repo_id) && !revision.empty(), Errc::NotFound,
                 "model '{}': no such folder, and not a hub id of the form org/name[@revision]", model);
    const hub::HubOptions options = hub::options_from_env();
    if (auto snap = hub::cached_snapshot(repo_id, revision, options)) return *snap;
    WINNOW_CHECK(allow_download && !options.offline, Errc::NotFound,
                 "model '{}' is not in the Hugging Face cache {}{}; run `winnow pull {}{}`", model, options.cache_dir,
                 options.offline ? " and HF_HUB_OFFLINE is set" : "", repo_id,
                 revision == "main" ? std::string() : " --revision " + revision);
    log::info("model {} is not cached; downloading from {}", model, options.endpoint);
    return hub::pull(repo_id, revision, options).snapshot_dir;
}

}  // namespace winnow
