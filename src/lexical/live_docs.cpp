#include "lexical/live_docs.h"

#include <bit>

#include "core/log.h"
#include "lexical/file_format.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {
constexpr std::string_view kMagic{"WNWLIVE2", 8};  // 2: CRC-32 instead of FNV-1a
}

LiveDocs::LiveDocs(std::uint32_t doc_count) : doc_count_(doc_count), bits_((doc_count + 63) / 64, ~0ULL) {
    if (doc_count % 64 != 0) bits_.back() = (1ULL << (doc_count % 64)) - 1;
}

std::shared_ptr<const LiveDocs> LiveDocs::with_deleted(std::span<const std::uint32_t> docs) const {
    auto out = std::make_shared<LiveDocs>(*this);
    for (const std::uint32_t d : docs) {
        WINNOW_CHECK(d < doc_count_, Errc::InvalidArgument, "live docs: document {} out of range (segment of {})", d,
                     doc_count_);
        std::uint64_t& w = out->bits_[d >> 6];
        const std::uint64_t bit = 1ULL << (d & 63);
        if (w & bit) {
            w &= ~bit;
            ++out->deleted_count_;
        }
    }
    return out;
}

void LiveDocs::save(const std::string& path) const {
    detail::BufferWriter w;
    w.raw(kMagic.data(), kMagic.size());
    w.pod<std::uint32_t>(doc_count_);
    w.pod<std::uint32_t>(deleted_count_);
    w.array(bits_);
    w.seal();
    detail::write_atomic(path, w.buffer());
}

std::optional<LiveDocs> LiveDocs::load(const std::string& path, std::uint32_t doc_count) {
    const auto data = detail::read_file(path);
    if (!data) return std::nullopt;
    const auto body = detail::checked_body(*data, kMagic);
    if (!body) {
        log::warn("{}: not a valid live-docs file", path);
        return std::nullopt;
    }
    detail::BufferReader r(*body);
    LiveDocs out;
    bool ok = r.pod(out.doc_count_) && r.pod(out.deleted_count_) && r.array(out.bits_) && r.at_end();
    ok = ok && out.doc_count_ == doc_count && out.bits_.size() == (static_cast<std::size_t>(doc_count) + 63) / 64;
    if (ok) {
        std::uint64_t live = 0;
        for (const std::uint64_t w : out.bits_) live += static_cast<std::uint64_t>(std::popcount(w));
        const bool tail_clear = doc_count % 64 == 0 || (out.bits_.back() >> (doc_count % 64)) == 0;
        ok = tail_clear && live + out.deleted_count_ == doc_count;
    }
    if (!ok) {
        log::warn("{}: live docs do not match a segment of {} documents", path, doc_count);
        return std::nullopt;
    }
    return out;
}

}  // namespace winnow::lexical
