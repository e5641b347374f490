// Internal: the warning when a requested max_length is above what the model takes (it is capped).
#pragma once

#include <cstddef>
#include <string>

#include "core/log.h"

namespace winnow {

inline void warn_if_max_length_capped(const std::string& folder, std::size_t requested, std::size_t used) {
    if (requested > used) {
        log::warn("{}: max_length {} is above the model's limit; using {} tokens", folder, requested, used);
    }
}

}  // namespace winnow
