// Progress of a long job (eval's sweep, train-ltr's collection, embedding while indexing) on stderr:
// on a terminal a bar redrawn in place (items, rate, ETA); otherwise plain lines, one at each tenth of
// the work and one at the end, so a log shows the job moving without filling up; nothing when off.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>

namespace winnow {

enum class ProgressMode { Off, Bar, Lines };

// The CLI's rule: Off with --quiet, else Bar when stderr is a terminal, else Lines.
ProgressMode progress_mode(bool quiet) noexcept;

// "eval: 30/300 (10%), 12.5/s, ETA 22 s" (done < total) or "eval: 300/300 (100%), 12.5/s, 24.1 s"; with an
// unknown total (0): "embed: 1200, 35/s" and, when final, "embed: 1200, 35/s, 34.2 s".
std::string progress_line(const std::string& label, std::size_t done, std::size_t total, double elapsed_s,
                          bool final = false);

// A total of 0 means unknown (items arrive as the job finds them): the plain lines then come at 10, 20, 50,
// 100, 200, 500, ... items and at the end, the bar shows the count and rate only.
class Progress {
public:
    Progress(std::string label, std::size_t total, ProgressMode mode, std::FILE* out = stderr);
    ~Progress();  // finish()
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void add(std::size_t n = 1);    // thread-safe
    void add_total(std::size_t n);  // the job grew (e.g. chunks found while indexing)
    void finish();                  // the last line (or the bar's newline), once; only if something was done

private:
    void draw_locked(bool final);

    std::string label_;
    std::size_t total_;
    ProgressMode mode_;
    std::FILE* out_;
    std::mutex mutex_;
    std::size_t done_ = 0;
    std::size_t tenths_shown_ = 0;  // Lines: the tenths of `total_` already printed
    std::size_t next_mark_ = 10;    // Lines, unknown total: the count of the next line
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace winnow
