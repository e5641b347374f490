// winnow::Error: the one exception type thrown at API and IO boundaries.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace winnow {

// What went wrong, independent of transport. The CLI maps it to an exit code,
// the server to an HTTP status (see exit_code() and http_status()).
enum class Errc {
    InvalidArgument,  // a bad value from the caller: flag, JSON field, spec string
    NotFound,         // a file, model, index, document or route that does not exist
    Unsupported,      // a valid input that winnow does not handle (unknown model_type, tokenizer type)
    Corrupt,          // a file whose contents are malformed or inconsistent
    Io,               // the OS failed: open, read, write, mmap, network
    TooLarge,         // input over a configured limit (bytes, tokens, documents)
    Overloaded,       // a queue is full; try later
    Timeout,          // a deadline passed
    Cancelled,        // the caller went away
    Unauthorized,     // missing or wrong API key
    Internal,         // a bug reached a boundary
};

std::string_view errc_name(Errc code) noexcept;
int exit_code(Errc code) noexcept;
int http_status(Errc code) noexcept;

class Error : public std::runtime_error {
public:
    Error(Errc code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
    Errc code() const noexcept { return code_; }

private:
    Errc code_;
};

}  // namespace winnow

// Throws winnow::Error(code, formatted message) when cond is false. For user and IO errors.
#define WINNOW_CHECK(cond, code, ...)                                              \
    do {                                                                          \
        if (!(cond)) [[unlikely]] {                                               \
            throw ::winnow::Error((code), ::fmt::format(__VA_ARGS__));            \
        }                                                                         \
    } while (0)

#define WINNOW_THROW(code, ...) throw ::winnow::Error((code), ::fmt::format(__VA_ARGS__))

namespace winnow::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;
}

// For bugs: aborts with the expression and location, also in release builds.
#define WINNOW_ASSERT(cond)                                                       \
    do {                                                                          \
        if (!(cond)) [[unlikely]] {                                               \
            ::winnow::detail::assert_fail(#cond, __FILE__, __LINE__);             \
        }                                                                         \
    } while (0)

#ifdef NDEBUG
#define WINNOW_DASSERT(cond) ((void)0)
#else
#define WINNOW_DASSERT(cond) WINNOW_ASSERT(cond)
#endif
