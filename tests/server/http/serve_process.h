// A `winnow serve` child process for black-box tests, and a small index built with `winnow index`.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"

namespace winnow::testing {

using namespace std::chrono_literals;

inline const std::string kModels = std::string(WINNOW_SHARED_DIR) + "/fixtures/models";
inline const std::string kBinary = std::string(WINNOW_BINARY_DIR) + "/winnow";

// A `winnow serve` child process; the port comes from its first stdout line.
class ServeProcess {
public:
    explicit ServeProcess(std::vector<std::string> args) {
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
            std::vector<char*> argv{const_cast<char*>(kBinary.c_str()), const_cast<char*>("serve")};
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(kBinary.c_str(), argv.data());
            _exit(127);
        }
        close(out[1]);
        stdout_ = fdopen(out[0], "r");
        char line[512] = {0};
        if (stdout_ && std::fgets(line, sizeof(line), stdout_)) {
            const std::string s(line);
            const auto colon = s.rfind(':');
            if (s.find("listening on") != std::string::npos && colon != std::string::npos) port_ = std::stoi(s.substr(colon + 1));
        }
    }
    ~ServeProcess() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (stdout_) std::fclose(stdout_);
    }
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    // Sends SIGTERM and returns the exit status (-1 unless it exited normally within 120 s, a bound
    // far above what finishing the in-flight requests takes on a loaded machine).
    int terminate() {
        kill(pid_, SIGTERM);
        for (int i = 0; i < 12000; ++i) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(10ms);
        }
        return -1;
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(60s);
        return c;
    }

private:
    pid_t pid_ = -1;
    FILE* stdout_ = nullptr;
    int port_ = 0;
    bool exited_ = false;
};

inline bool have_fixtures() {
    return std::filesystem::exists(kBinary) && std::filesystem::exists(kModels + "/bert-ce/model.safetensors");
}

// Builds a small index with `winnow index` over three text files.
inline std::string make_index(const std::string& tag = "search") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(::testing::TempDir()) / ("winnow_serve_index_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "docs");
    std::ofstream(root / "docs" / "expenses.md") << "# Expense policy\n\nExpenses over $500 require written "
                                                    "approval from a department manager. Reimbursement needs receipts.\n";
    std::ofstream(root / "docs" / "cafeteria.md") << "# Cafeteria\n\nThe cafeteria opens at 8am on weekdays.\n";
    std::ofstream(root / "docs" / "minutes.md") << "# March minutes\n\nThe March meeting minutes were approved by "
                                                   "the board secretary.\n";
    const std::string cmd = kBinary + " index --index " + (root / "index").string() + " --input " +
                            (root / "docs").string() + " --format files > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "";
    return (root / "index").string();
}

}  // namespace winnow::testing
