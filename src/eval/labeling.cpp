#include "eval/labeling.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <unordered_set>

#include "eval/text_util.h"
#include "winnow/error.h"

namespace winnow::eval {
namespace {

std::uint64_t mix(std::uint64_t seed, std::string_view s) {
    std::uint64_t h = 1469598103934665603ULL ^ seed;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

// Appends whole lines with one write() each and fsyncs after each, so a label is on disk before
// the next question and a crash leaves at most one partial (unacknowledged) line.
class QrelsAppender {
public:
    explicit QrelsAppender(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        WINNOW_CHECK(fd_ >= 0, Errc::Io, "{}: cannot open for appending: {}", path, std::strerror(errno));
    }
    ~QrelsAppender() {
        if (fd_ >= 0) ::close(fd_);
    }
    QrelsAppender(const QrelsAppender&) = delete;
    QrelsAppender& operator=(const QrelsAppender&) = delete;

    void append(const std::string& qid, const std::string& docno, int grade) {
        const std::string line = fmt::format("{} 0 {} {}\n", qid, docno, grade);
        std::size_t done = 0;
        while (done < line.size()) {
            const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            WINNOW_CHECK(n > 0, Errc::Io, "{}: write failed: {}", path_, std::strerror(errno));
            done += static_cast<std::size_t>(n);
        }
        WINNOW_CHECK(::fsync(fd_) == 0, Errc::Io, "{}: fsync failed: {}", path_, std::strerror(errno));
    }

private:
    std::string path_;
    int fd_ = -1;
};

std::string excerpt(std::string_view text, std::size_t max_chars) {
    std::string t = collapse_whitespace(text);
    if (t.size() <= max_chars) return t;
    std::size_t cut = t.rfind(' ', max_chars);
    if (cut == std::string::npos || cut < max_chars / 2) cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    return t.substr(0, cut) + " [...]";
}

}  // namespace

std::vector<LabelTask> build_label_tasks(Ranker& ranker, const std::vector<Query>& queries,
                                         const std::vector<std::size_t>& ks, std::size_t top_n, std::uint64_t seed) {
    WINNOW_CHECK(top_n > 0, Errc::InvalidArgument, "--top must be at least 1");
    std::vector<LabelTask> tasks;
    for (const auto& q : queries) {
        LabelTask task{q, {}};
        std::unordered_set<std::string> seen;
        for (std::size_t k : ks) {
            RankerOutput out = ranker.rank(q, k);
            const auto& list = ranker.changes_list() ? out.final : out.first_stage;
            for (std::size_t i = 0; i < list.size() && i < top_n; ++i) {
                if (seen.insert(list[i].doc_id).second) {
                    task.candidates.push_back({list[i].doc_id, list[i].title, list[i].text});
                }
            }
        }
        std::mt19937_64 rng(mix(seed, q.id));
        std::shuffle(task.candidates.begin(), task.candidates.end(), rng);
        tasks.push_back(std::move(task));
    }
    return tasks;
}

std::set<std::pair<std::string, std::string>> load_labelled_pairs(const std::string& path) {
    std::set<std::pair<std::string, std::string>> pairs;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return pairs;
    std::string text = read_text_file(path);
    if (!text.empty() && text.back() != '\n') {
        // A crash while appending: drop the unterminated tail (it was never acknowledged).
        const std::size_t last = text.rfind('\n');
        const std::size_t keep = last == std::string::npos ? 0 : last + 1;
        std::filesystem::resize_file(path, keep, ec);
        WINNOW_CHECK(!ec, Errc::Io, "{}: cannot drop a partial last line: {}", path, ec.message());
        text.resize(keep);
    }
    const Qrels q = parse_trec_qrels(text, path);
    for (const auto& [qid, docs] : q.judgments) {
        for (const auto& [docno, grade] : docs) pairs.emplace(qid, docno);
    }
    return pairs;
}

LabelStats run_labeling(const std::vector<LabelTask>& tasks, const std::string& qrels_path, std::istream& in,
                        std::ostream& out, std::size_t max_chars) {
    LabelStats stats;
    const auto done = load_labelled_pairs(qrels_path);
    std::size_t total = 0;
    for (const auto& t : tasks) {
        for (const auto& c : t.candidates) {
            if (done.count({t.query.id, c.doc_id}) != 0) {
                ++stats.already;
            } else {
                ++total;
            }
        }
    }
    out << fmt::format("{} pairs to label ({} already labelled in {}). Answer r = relevant, n = not relevant, "
                       "s = skip, q = quit.\n",
                       total, stats.already, qrels_path);
    QrelsAppender appender(qrels_path);
    std::size_t asked = 0;
    for (std::size_t ti = 0; ti < tasks.size() && !stats.quit; ++ti) {
        const auto& task = tasks[ti];
        for (std::size_t ci = 0; ci < task.candidates.size(); ++ci) {
            const auto& c = task.candidates[ci];
            if (done.count({task.query.id, c.doc_id}) != 0) continue;
            ++asked;
            out << fmt::format("\n=== [{}/{}] query {}: {}\n", asked, total, task.query.id, task.query.text);
            out << fmt::format("--- document {} of {} for this query", ci + 1, task.candidates.size());
            if (!c.title.empty()) out << ": " << collapse_whitespace(c.title);
            out << "\n" << excerpt(c.text, max_chars) << "\n";
            bool answered = false;
            while (!answered) {
                out << "relevant? [r/n/s/q] > " << std::flush;
                std::string line;
                if (!std::getline(in, line)) {
                    stats.quit = true;
                    out << "\n";
                    break;
                }
                const std::string a(trim(line));
                if (a == "r" || a == "y" || a == "1" || a == "relevant") {
                    appender.append(task.query.id, c.doc_id, 1);
                    ++stats.labelled;
                    ++stats.relevant;
                    answered = true;
                } else if (a == "n" || a == "0" || a == "not") {
                    appender.append(task.query.id, c.doc_id, 0);
                    ++stats.labelled;
                    answered = true;
                } else if (a == "s" || a == "skip") {
                    ++stats.skipped;
                    answered = true;
                } else if (a == "q" || a == "quit") {
                    stats.quit = true;
                    break;
                } else {
                    out << "r (or y, 1) = relevant, n (or 0) = not relevant, s = skip for now, q = save and quit\n";
                }
            }
            if (stats.quit) break;
        }
    }
    stats.remaining = total - stats.labelled - stats.skipped;
    out << fmt::format("\n{} labelled ({} relevant), {} skipped, {} remaining; saved in {}\n", stats.labelled,
                       stats.relevant, stats.skipped, stats.remaining, qrels_path);
    return stats;
}

}  // namespace winnow::eval
