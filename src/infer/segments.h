// Internal: scoring a large input in segments, so that host work (tokenizing) and model work
// (a GPU pass, during which the host thread only waits) overlap.
#pragma once

#include <algorithm>
#include <cstddef>
#include <future>
#include <type_traits>
#include <utility>

#include "winnow/device.h"

namespace winnow {

// Pairs or texts per segment on a GPU: several token-budget batches each (about 4 at 65,536 tokens of
// 140-token pairs), and the first segment, whose tokenizing nothing hides, a small part of the whole.
inline constexpr std::size_t kGpuSegment = 4096;

// The segment size for `n` inputs on `device`: all of them on the CPU (one length-sorted plan, and the
// model uses every core, so there is nothing to overlap with), kGpuSegment on a GPU.
inline std::size_t segment_size(std::size_t n, Device device) {
    return device == Device::Cuda ? kGpuSegment : std::max<std::size_t>(n, 1);
}

// Runs prepare(begin, end) -> P and then consume(begin, P&&) over [0, n) in segments of `segment`. Segment
// i + 1 is prepared on another thread while segment i is consumed; consume runs on the calling thread, in
// order. An exception from either ends the run (a pending prepare is waited for) and propagates.
template <class Prepare, class Consume>
void run_segments(std::size_t n, std::size_t segment, const Prepare& prepare, const Consume& consume) {
    if (n == 0) return;
    segment = std::max<std::size_t>(segment, 1);
    using Prepared = std::invoke_result_t<const Prepare&, std::size_t, std::size_t>;
    Prepared current = prepare(0, std::min(n, segment));
    for (std::size_t begin = 0; begin < n; begin += segment) {
        const std::size_t end = std::min(n, begin + segment);
        std::future<Prepared> next;
        if (end < n) {
            next = std::async(std::launch::async,
                              [&prepare, end, n, segment] { return prepare(end, std::min(n, end + segment)); });
        }
        consume(begin, std::move(current));
        if (end < n) current = next.get();
    }
}

}  // namespace winnow
