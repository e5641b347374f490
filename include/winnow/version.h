#pragma once

namespace winnow {
// The library version, "major.minor.patch".
const char* version() noexcept;
}  // namespace winnow
