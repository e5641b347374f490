#include "server/qrels_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "winnow/error.h"

namespace winnow::server {

QrelsWriter::QrelsWriter(std::string path) : path_(std::move(path)) {
    // Query ids already mapped in an earlier session are not written again.
    std::ifstream in(path_ + ".queries.tsv");
    std::string line;
    while (std::getline(in, line)) {
        const auto tab = line.find('\t');
        if (tab != std::string::npos) known_queries_.insert(line.substr(0, tab));
    }
    // Labels of earlier sessions ("qid iter docid grade"; a later line for the same pair wins).
    std::ifstream qrels(path_);
    while (std::getline(qrels, line)) {
        std::istringstream fields(line);
        std::string qid, iter, doc;
        int relevance = 0;
        if (fields >> qid >> iter >> doc >> relevance) labels_[qid][doc] = relevance;
    }
}

std::map<std::string, int> QrelsWriter::labels(const std::string& query_id) const {
    std::lock_guard lock(mutex_);
    const auto it = labels_.find(query_id);
    return it == labels_.end() ? std::map<std::string, int>{} : it->second;
}

std::string QrelsWriter::query_id_for(std::string_view query) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : query) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return fmt::format("ui-{:016x}", h);
}

void QrelsWriter::append_line(const std::string& file, const std::string& line) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    WINNOW_CHECK(fd >= 0, Errc::Io, "{}: cannot open for appending: {}", file, std::strerror(errno));
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    WINNOW_CHECK(ok, Errc::Io, "{}: write failed: {}", file, std::strerror(saved));
}

std::string QrelsWriter::append(std::string query_id, std::string_view query, std::string_view doc_id, int relevance) {
    if (query_id.empty()) query_id = query_id_for(query);
    std::lock_guard lock(mutex_);
    if (known_queries_.insert(query_id).second) {
        std::string text(query);
        for (char& c : text) {
            if (c == '\t' || c == '\n' || c == '\r') c = ' ';
        }
        append_line(path_ + ".queries.tsv", query_id + "\t" + text + "\n");
    }
    append_line(path_, fmt::format("{} 0 {} {}\n", query_id, doc_id, relevance));
    labels_[query_id][std::string(doc_id)] = relevance;
    return query_id;
}

}  // namespace winnow::server
