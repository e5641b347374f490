#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "winnow/error.h"

namespace winnow::log {
namespace {

Level level_from_env() noexcept {
    const char* env = std::getenv("WINNOW_LOG");
    if (env == nullptr) return Level::Warn;
    try {
        return parse_level(env);
    } catch (...) {
        return Level::Warn;
    }
}

std::atomic<Level>& current() noexcept {
    static std::atomic<Level> value{level_from_env()};
    return value;
}

std::mutex& write_mutex() noexcept {
    static std::mutex m;
    return m;
}

}  // namespace

Level level() noexcept { return current().load(std::memory_order_relaxed); }
void set_level(Level value) noexcept { current().store(value, std::memory_order_relaxed); }

Level parse_level(std::string_view name) {
    if (name == "debug") return Level::Debug;
    if (name == "info") return Level::Info;
    if (name == "warn" || name == "warning") return Level::Warn;
    if (name == "error") return Level::Error;
    if (name == "off" || name == "none") return Level::Off;
    WINNOW_THROW(Errc::InvalidArgument, "unknown log level '{}' (expected debug|info|warn|error|off)", name);
}

void write(Level lvl, std::string_view message) noexcept {
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error", "off"};
    using Clock = std::chrono::steady_clock;
    static const Clock::time_point start = Clock::now();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::lock_guard lock(write_mutex());
    std::fprintf(stderr, "[%9.3f %-5s] %.*s\n", seconds, kNames[static_cast<int>(lvl)],
                 static_cast<int>(message.size()), message.data());
}

}  // namespace winnow::log
