#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace winnow {

ProgressMode progress_mode(bool quiet) noexcept {
    if (quiet) return ProgressMode::Off;
    return ::isatty(STDERR_FILENO) ? ProgressMode::Bar : ProgressMode::Lines;
}

namespace {

std::string seconds(double s) {
    if (s < 60) return fmt::format("{:.1f} s", s);
    const auto total = static_cast<long long>(std::llround(s));
    if (total < 3600) return fmt::format("{}:{:02} min", total / 60, total % 60);
    return fmt::format("{}:{:02}:{:02} h", total / 3600, (total / 60) % 60, total % 60);
}

std::string rate_text(std::size_t done, double elapsed_s) {
    if (elapsed_s <= 0.0 || done == 0) return "-/s";
    const double rate = static_cast<double>(done) / elapsed_s;
    return rate >= 10 ? fmt::format("{:.0f}/s", rate) : fmt::format("{:.2f}/s", rate);
}

}  // namespace

std::string progress_line(const std::string& label, std::size_t done, std::size_t total, double elapsed_s, bool final) {
    if (total == 0) {
        std::string line = fmt::format("{}: {}, {}", label, done, rate_text(done, elapsed_s));
        if (final) line += ", " + seconds(elapsed_s);
        return line;
    }
    const double share = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    std::string line = fmt::format("{}: {}/{} ({:.0f}%), {}", label, done, total, std::floor(100.0 * share),
                                   rate_text(done, elapsed_s));
    if (done < total) {
        line += ", ETA ";
        line += done > 0 && elapsed_s > 0
                    ? seconds(elapsed_s * static_cast<double>(total - done) / static_cast<double>(done))
                    : std::string("-");
    } else {
        line += ", " + seconds(elapsed_s);
    }
    return line;
}

Progress::Progress(std::string label, std::size_t total, ProgressMode mode, std::FILE* out)
    : label_(std::move(label)), total_(total), mode_(mode), out_(out), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
    finish();
}

void Progress::add(std::size_t n) {
    if (mode_ == ProgressMode::Off || n == 0) return;
    std::lock_guard lock(mutex_);
    done_ += n;
    draw_locked(false);
}

void Progress::add_total(std::size_t n) {
    std::lock_guard lock(mutex_);
    total_ += n;
}

void Progress::finish() {
    if (mode_ == ProgressMode::Off) return;
    std::lock_guard lock(mutex_);
    if (finished_ || done_ == 0) return;
    finished_ = true;
    draw_locked(true);
}

void Progress::draw_locked(bool final) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const std::size_t total = total_ == 0 ? 0 : std::max(total_, done_);
    if (mode_ == ProgressMode::Lines && total == 0) {
        if (!final) {
            if (done_ < next_mark_) return;
            while (next_mark_ <= done_) {  // 10, 20, 50, 100, 200, 500, ...
                std::size_t scale = 1;
                std::size_t digit = next_mark_;
                while (digit >= 10) {
                    digit /= 10;
                    scale *= 10;
                }
                next_mark_ = (digit == 1 ? 2 : digit == 2 ? 5 : 10) * scale;
            }
        }
        std::fprintf(out_, "%s\n", progress_line(label_, done_, 0, elapsed, final).c_str());
        std::fflush(out_);
        return;
    }
    if (mode_ == ProgressMode::Lines) {
        // One line per tenth crossed (only the latest when several are crossed at once), and the last.
        const std::size_t tenths = total > 0 ? std::min<std::size_t>(10, done_ * 10 / total) : 10;
        if (final) {
            if (tenths_shown_ == 10) return;  // the 100% line is out already
            tenths_shown_ = 10;
        } else {
            if (tenths <= tenths_shown_) return;
            tenths_shown_ = tenths;
        }
        std::fprintf(out_, "%s\n", progress_line(label_, done_, total, elapsed).c_str());
        std::fflush(out_);
        return;
    }
    // Bar: at most ten redraws a second, and the final one.
    if (!final && (total == 0 || done_ < total) && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 24;
    if (total == 0) {
        std::fprintf(out_, "\r%s\033[K", progress_line(label_, done_, 0, elapsed, final).c_str());
    } else {
        const int filled = static_cast<int>(kWidth * done_ / total);
        const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                                std::string(static_cast<std::size_t>(kWidth - filled), '.');
        std::fprintf(out_, "\r[%s] %s\033[K", bar.c_str(), progress_line(label_, done_, total, elapsed).c_str());
    }
    if (final) std::fputc('\n', out_);
    std::fflush(out_);
}

}  // namespace winnow
