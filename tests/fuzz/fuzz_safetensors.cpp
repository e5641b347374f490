// Fuzz target: the safetensors header parser and tensor conversion, plus model config parsing.
// Any input must give a winnow::Error or a valid result, never a crash (run under ASan/UBSan).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/json.h"
#include "models/model_config.h"
#include "models/pooling.h"
#include "models/safetensors.h"
#include "winnow/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace winnow;
    const std::span<const std::uint8_t> bytes(data, size);
    try {
        const SafetensorsHeader header = parse_safetensors_header(bytes, "fuzz.safetensors");
        for (const auto& [name, info] : header.tensors) {
            if (!dtype_is_float(info.dtype) || info.n_elements() > (1u << 20)) continue;
            const Tensor t = tensor_to_f32(info, bytes.subspan(header.data_offset + info.begin, info.end - info.begin),
                                           "fuzz.safetensors");
            (void)t;
        }
    } catch (const Error&) {
    }
    // The same bytes as a config.json / pooling config.
    try {
        const std::string_view text(reinterpret_cast<const char*>(data), size);
        const Json json = parse_json(text, "fuzz.json");
        try {
            const ModelConfig config(json, "config.json");
            (void)config.has_architecture_suffix("ForSequenceClassification");
            (void)config.get_or<std::size_t>("hidden_size", 0);
        } catch (const Error&) {
        }
        try {
            (void)Pooling::from_json(json, "1_Pooling/config.json");
        } catch (const Error&) {
        }
    } catch (const Error&) {
    }
    return 0;
}
