// winnow: retrieve wide, rerank narrow. Entry point of the CLI.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>

#include "cli_io.h"
#include "command.h"
#include "core/log.h"
#include "tensor/threads.h"
#include "winnow/error.h"
#include "winnow/version.h"

namespace winnow::cli {
std::vector<CommandEntry>& command_registry() {
    static std::vector<CommandEntry> registry;
    return registry;
}
}  // namespace winnow::cli

int main(int argc, char** argv) {
    using namespace winnow;
    use_bounded_openmp_wait(argv);  // may re-execute the program with GOMP_SPINCOUNT set
    CLI::App app{"winnow: retrieve wide, then rerank narrow.\n"
                 "A first stage (BM25, dense, hybrid) finds k candidates; a cross-encoder reranks them."};
    app.set_version_flag("--version", std::string("winnow ") + winnow::version());
    app.require_subcommand(1);
    app.fallthrough(false);
    std::string log_level;
    app.add_option("--log", log_level, "Log level: debug|info|warn|error|off (default: $WINNOW_LOG or warn)");

    std::vector<std::pair<CLI::App*, std::function<int()>>> actions;
    auto& registry = cli::command_registry();
    std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (auto& entry : registry) {
        const std::size_t before = app.get_subcommands({}).size();
        auto action = entry.setup(app);
        auto subs = app.get_subcommands({});
        WINNOW_ASSERT(subs.size() == before + 1);
        actions.emplace_back(subs.back(), std::move(action));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Print the error and the usage of the subcommand at fault; bad arguments exit 2.
        std::fprintf(stderr, "winnow: error: %s\n\n", e.what());
        CLI::App* at_fault = &app;
        for (auto& [sub, action] : actions) {
            if (sub->parsed()) at_fault = sub;
        }
        std::cerr << at_fault->help();
        return 2;
    }

    try {
        if (!log_level.empty()) log::set_level(log::parse_level(log_level));
        for (auto& [sub, action] : actions) {
            if (sub->parsed()) return action();
        }
        std::cerr << app.help();
        return 2;
    } catch (const winnow::Error& e) {
        std::fprintf(stderr, "winnow: error (%s): %s\n", std::string(errc_name(e.code())).c_str(),
                     winnow::cli::printable(e.what()).c_str());
        return exit_code(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "winnow: internal error: %s\n", winnow::cli::printable(e.what()).c_str());
        return 70;
    }
}
