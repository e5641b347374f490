// libFuzzer target for pipeline spec strings and the smaller specs inside them (BM25 and analyzer
// specs, per-query overrides). Bad input must give winnow::Error; a spec that parses must
// round-trip through to_string() and compile (or be rejected with an Error) without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lexical/analyzer.h"
#include "lexical/bm25.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 4) {
            case 0:
            case 1: {
                // A spec, optionally followed by "\n"-separated overrides.
                std::string_view spec = input;
                std::string_view rest;
                if (const auto nl = input.find('\n'); nl != std::string_view::npos) {
                    spec = input.substr(0, nl);
                    rest = input.substr(nl + 1);
                }
                winnow::PipelineSpec p = winnow::PipelineSpec::parse(spec);
                const std::string canon = p.to_string();
                const winnow::PipelineSpec again = winnow::PipelineSpec::parse(canon);
                if (again.to_string() != canon) std::abort();  // parse(to_string()) must be stable
                (void)winnow::PipelineConfig::from_spec(p);
                while (!rest.empty()) {
                    const auto nl = rest.find('\n');
                    const std::string_view one = rest.substr(0, nl);
                    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
                    p.apply_override(one);
                }
                (void)winnow::PipelineSpec::parse(p.to_string());
                (void)winnow::PipelineConfig::from_spec(p);
                break;
            }
            case 2: {
                const auto params = winnow::lexical::parse_bm25_spec(input);
                if (winnow::lexical::parse_bm25_spec(winnow::lexical::bm25_spec(params)) != params) std::abort();
                break;
            }
            default: (void)winnow::lexical::parse_analyzer_spec(input); break;
        }
    } catch (const winnow::Error&) {
    }
    return 0;
}
