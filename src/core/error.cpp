#include "winnow/error.h"

#include <cstdio>
#include <cstdlib>

#include "winnow/version.h"

namespace winnow {

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
    case Errc::InvalidArgument: return "invalid_argument";
    case Errc::NotFound: return "not_found";
    case Errc::Unsupported: return "unsupported";
    case Errc::Corrupt: return "corrupt";
    case Errc::Io: return "io_error";
    case Errc::TooLarge: return "too_large";
    case Errc::Overloaded: return "overloaded";
    case Errc::Timeout: return "timeout";
    case Errc::Cancelled: return "cancelled";
    case Errc::Unauthorized: return "unauthorized";
    case Errc::Internal: return "internal";
    }
    return "internal";
}

int exit_code(Errc code) noexcept {
    switch (code) {
    case Errc::InvalidArgument: return 2;  // same as a usage error
    case Errc::NotFound: return 3;
    case Errc::Unsupported: return 4;
    case Errc::Corrupt: return 5;
    case Errc::Io: return 6;
    case Errc::TooLarge: return 7;
    case Errc::Overloaded:
    case Errc::Timeout:
    case Errc::Cancelled: return 8;
    case Errc::Unauthorized: return 9;
    case Errc::Internal: return 70;
    }
    return 70;
}

int http_status(Errc code) noexcept {
    switch (code) {
    case Errc::InvalidArgument: return 422;
    case Errc::NotFound: return 404;
    case Errc::Unsupported: return 422;
    case Errc::Corrupt: return 422;
    case Errc::Io: return 500;
    case Errc::TooLarge: return 413;
    case Errc::Overloaded: return 429;
    case Errc::Timeout: return 504;
    case Errc::Cancelled: return 499;
    case Errc::Unauthorized: return 401;
    case Errc::Internal: return 500;
    }
    return 500;
}

const char* version() noexcept { return WINNOW_VERSION_STRING; }

namespace detail {
void assert_fail(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "winnow: assertion failed: %s (%s:%d)\n", expr, file, line);
    std::fflush(stderr);
    std::abort();
}
}  // namespace detail

}  // namespace winnow
