#include "winnow/device.h"

#include "winnow/error.h"

namespace winnow {

Precision parse_precision(std::string_view name) {
    if (name == "auto") return Precision::Auto;
    if (name == "fp32") return Precision::Fp32;
    if (name == "bf16") return Precision::Bf16;
    if (name == "fp16") return Precision::Fp16;
    if (name == "int8") return Precision::Int8;
    WINNOW_THROW(Errc::InvalidArgument, "unknown precision '{}' (expected auto, fp32, bf16, fp16 or int8)", name);
}

std::string_view precision_name(Precision precision) noexcept {
    switch (precision) {
        case Precision::Auto:
            return "auto";
        case Precision::Fp32:
            return "fp32";
        case Precision::Bf16:
            return "bf16";
        case Precision::Fp16:
            return "fp16";
        case Precision::Int8:
            return "int8";
    }
    return "?";
}

Device parse_device(std::string_view name) {
    if (name == "auto") return Device::Auto;
    if (name == "cpu") return Device::Cpu;
    if (name == "cuda" || name == "gpu") return Device::Cuda;
    WINNOW_THROW(Errc::InvalidArgument, "unknown device '{}' (expected auto, cpu or cuda)", name);
}

std::string_view device_name(Device device) noexcept {
    switch (device) {
        case Device::Auto:
            return "auto";
        case Device::Cpu:
            return "cpu";
        case Device::Cuda:
            return "cuda";
    }
    return "?";
}

std::string CudaStatus::to_string() const {
    if (!built) return "not built (configure with -DWINNOW_CUDA=ON and a CUDA toolkit)";
    if (!usable) return "built, unusable: " + reason;
    return fmt::format("{} device(s), {} ({:.0f} GiB)", device_count, device,
                       static_cast<double>(memory_bytes) / double(1ull << 30));
}

}  // namespace winnow
