// `winnow pull <org/name> [--revision R]`: download a model from the Hugging Face Hub into the HF cache.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "command.h"
#include "models/hub.h"

namespace winnow::cli {
namespace {

struct PullArgs {
    std::string repo;
    std::string revision = "main";
    std::string cache_dir;
    bool all_files = false;
};

CommandRegistrar registrar("pull", [](CLI::App& app) {
    auto* sub = app.add_subcommand("pull", "Download a model from the Hugging Face Hub into the HF cache "
                                           "(HF_HOME / HF_HUB_CACHE; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE respected)");
    auto args = std::make_shared<PullArgs>();
    sub->add_option("repo", args->repo, "Hub id, org/name")->required();
    sub->add_option("--revision", args->revision, "Branch, tag or commit (default main)");
    sub->add_option("--cache-dir", args->cache_dir, "Hub cache folder (default $HF_HUB_CACHE or $HF_HOME/hub)");
    sub->add_flag("--all-files", args->all_files, "Also fetch other frameworks' weights (onnx, tf, flax, *.bin)");
    return [args]() {
        hub::HubOptions options = hub::options_from_env();
        if (!args->cache_dir.empty()) options.cache_dir = args->cache_dir;
        options.all_files = args->all_files;
        if (::isatty(STDERR_FILENO)) {
            options.on_progress = [](const std::string& file, std::uint64_t done, std::uint64_t total) {
                if (total > 0) {
                    std::fprintf(stderr, "\r  %-40s %6.1f / %.1f MB", file.c_str(), done / 1e6, total / 1e6);
                } else {
                    std::fprintf(stderr, "\r  %-40s %6.1f MB", file.c_str(), done / 1e6);
                }
                if (total > 0 && done >= total) std::fputc('\n', stderr);
            };
        }
        const auto r = hub::pull(args->repo, args->revision, options);
        std::printf("%s@%s -> %s\n", args->repo.c_str(), r.commit.c_str(), r.snapshot_dir.c_str());
        std::printf("files: %zu (downloaded %zu, resumed %zu, cached %zu), %.1f MB fetched\n", r.n_files,
                    r.n_downloaded, r.n_resumed, r.n_cached, static_cast<double>(r.bytes_downloaded) / 1e6);
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
