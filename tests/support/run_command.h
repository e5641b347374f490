// Runs a shell command line for a test and returns its exit status and standard output (stderr goes wherever the
// command line sends it). The tests that drive the built `winnow` binary share this.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace winnow::testing {

struct CommandResult {
    int status = -1;  // the exit code; -1 when the command could not start or did not exit normally
    std::string out;  // everything it wrote to stdout
};

inline CommandResult run_command(const std::string& command_line) {
    CommandResult result;
    FILE* pipe = ::popen(command_line.c_str(), "r");
    if (pipe == nullptr) return result;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

}  // namespace winnow::testing
