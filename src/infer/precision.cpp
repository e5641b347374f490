#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {

Precision parse_precision(std::string_view name) {
    if (name == "auto") return Precision::Auto;
    if (name == "fp32") return Precision::Fp32;
    if (name == "bf16") return Precision::Bf16;
    if (name == "int8") return Precision::Int8;
    WINNOW_THROW(Errc::InvalidArgument, "unknown precision '{}' (expected auto, fp32, bf16 or int8)", name);
}

std::string_view precision_name(Precision precision) noexcept {
    switch (precision) {
        case Precision::Auto:
            return "auto";
        case Precision::Fp32:
            return "fp32";
        case Precision::Bf16:
            return "bf16";
        case Precision::Int8:
            return "int8";
    }
    return "?";
}

}  // namespace winnow
