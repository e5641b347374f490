// `winnow version`: the version and what this CPU and build offer.
#include <cstdio>

#include "command.h"
#include "winnow/version.h"

namespace winnow::cli {
namespace {

CommandRegistrar registrar("version", [](CLI::App& app) {
    auto* sub = app.add_subcommand("version", "Print the version and build information");
    auto json = std::make_shared<bool>(false);
    sub->add_flag("--json", *json, "Print as JSON");
    return [json]() {
        if (*json) {
            std::printf("{\"version\": \"%s\", \"compiler\": \"%s\"}\n", winnow::version(), __VERSION__);
        } else {
            std::printf("winnow %s (g++ %s)\n", winnow::version(), __VERSION__);
        }
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
