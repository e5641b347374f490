// The winnow CLI is a set of subcommands, one file each (tools/cmd_<name>.cpp), thin over src/.
// Each file registers itself with a static CommandRegistrar; main.cpp wires them into CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace winnow::cli {

// Adds a subcommand to `app` and returns the action to run when that subcommand is chosen.
// The action returns the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandEntry {
    std::string name;
    CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
    CommandRegistrar(std::string name, CommandSetup setup) {
        command_registry().push_back({std::move(name), std::move(setup)});
    }
};

}  // namespace winnow::cli
