// `winnow version`: the version and what this CPU and build offer.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "command.h"
#include "winnow/device.h"
#include "winnow/version.h"

namespace winnow::cli {
namespace {

CommandRegistrar registrar("version", [](CLI::App& app) {
    auto* sub = app.add_subcommand("version", "Print the version and build information");
    auto json = std::make_shared<bool>(false);
    sub->add_flag("--json", *json, "Print as JSON");
    return [json]() {
        // How idle OpenMP threads wait, as the runtime read it at start (src/tensor/threads.h).
        const auto env = [](const char* name) {
            const char* value = std::getenv(name);
            return value == nullptr ? std::string("null") : "\"" + std::string(value) + "\"";
        };
        if (*json) {
            const CudaStatus& cuda = cuda_status();
            std::printf("{\"version\": \"%s\", \"compiler\": \"%s\", \"omp_wait_policy\": %s, \"gomp_spincount\": %s, "
                        "\"cuda\": {\"built\": %s, \"usable\": %s, \"devices\": %d}}\n",
                        winnow::version(), __VERSION__, env("OMP_WAIT_POLICY").c_str(), env("GOMP_SPINCOUNT").c_str(),
                        cuda.built ? "true" : "false", cuda.usable ? "true" : "false", cuda.device_count);
        } else {
            std::printf("winnow %s (g++ %s)\ncuda: %s\n", winnow::version(), __VERSION__,
                        cuda_status().to_string().c_str());
        }
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
