// The CLI bounds OpenMP spinning (GOMP_SPINCOUNT) unless the user chose a wait policy (src/tensor/threads.h):
// checked through `winnow version --json`, which reports the environment the runtime started with.

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/json.h"
#include "support/run_command.h"
#include "tensor/threads.h"

namespace winnow {
namespace {

Json version_with(const std::string& env) {
    const std::string cmd =
        "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env + " " WINNOW_BINARY_DIR "/winnow version --json";
    const testing::CommandResult r = testing::run_command(cmd);
    EXPECT_EQ(r.status, 0) << cmd;
    return Json::parse(r.out);
}

TEST(OpenMpWait, CliSetsABoundedSpinByDefault) {
    ASSERT_TRUE(std::filesystem::exists(WINNOW_BINARY_DIR "/winnow"));
    const Json v = version_with("");
    EXPECT_EQ(v.at("gomp_spincount").get<std::string>(), kOpenMpSpinCount);
    EXPECT_TRUE(v.at("omp_wait_policy").is_null());
}

TEST(OpenMpWait, CliKeepsTheUsersChoice) {
    ASSERT_TRUE(std::filesystem::exists(WINNOW_BINARY_DIR "/winnow"));
    Json v = version_with("OMP_WAIT_POLICY=passive");
    EXPECT_EQ(v.at("omp_wait_policy").get<std::string>(), "passive");
    EXPECT_TRUE(v.at("gomp_spincount").is_null());
    v = version_with("GOMP_SPINCOUNT=50");
    EXPECT_EQ(v.at("gomp_spincount").get<std::string>(), "50");
}

}  // namespace
}  // namespace winnow
