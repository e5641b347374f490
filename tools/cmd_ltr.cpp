// `winnow ltr features`: the learning-to-rank reranker's features, with their definitions.
// This file also registers the `ltr` pipeline stage for every command of the CLI (search, ask,
// eval, serve): a static object in the executable itself always runs, unlike one in a library.
#include <cstdio>

#include "cli_io.h"
#include "command.h"
#include "ltr/features.h"
#include "winnow/ltr.h"

namespace winnow::cli {
namespace {

const bool kLtrStageRegistered = (ltr::register_stages(), true);

CommandRegistrar registrar("ltr", [](CLI::App& app) {
    auto* sub = app.add_subcommand("ltr", "Learning-to-rank reranker: inspect its features (train with train-ltr)");
    sub->require_subcommand(1);
    auto* features = sub->add_subcommand("features", "List the features (name and definition), in model column order");
    auto json = std::make_shared<bool>(false);
    features->add_flag("--json", *json, "One JSON object per line: {\"index\", \"name\", \"definition\"}");
    return [json]() {
        (void)kLtrStageRegistered;
        const auto& infos = ltr::feature_infos();
        for (std::size_t i = 0; i < infos.size(); ++i) {
            if (*json) {
                write_json_line(Json{{"index", i}, {"name", infos[i].name}, {"definition", infos[i].definition}});
            } else {
                std::printf("%2zu  %-24.*s %.*s\n", i, static_cast<int>(infos[i].name.size()), infos[i].name.data(),
                            static_cast<int>(infos[i].definition.size()), infos[i].definition.data());
            }
        }
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
