// Shared readers for tokenizer.json component objects (normalizer, pre_tokenizer, post_processor, decoder).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/json.h"
#include "tokenizer/regex.h"
#include "winnow/error.h"

namespace winnow::tok {

// Reads a `{"String": s}` or `{"Regex": r}` pattern object into either `literal` or `regex`.
void read_pattern(const Json& j, const std::string& where, std::string& literal, std::unique_ptr<Regex>& regex);

// Reads the array `field` of a "Sequence" component, building each element with `make(element, where)`.
// `where` names the sequence itself (e.g. "tokenizer.json normalizer"); null elements are skipped.
template <typename Component, typename Factory>
std::vector<std::unique_ptr<Component>> read_sequence(const Json& j, std::string_view field, const std::string& where,
                                                      const std::string& here, Factory&& make) {
    auto it = j.find(field);
    WINNOW_CHECK(it != j.end() && it->is_array(), Errc::Corrupt, "{}: field '{}' must be an array", here, field);
    std::vector<std::unique_ptr<Component>> items;
    for (std::size_t i = 0; i < it->size(); ++i) {
        if (auto c = make((*it)[i], fmt::format("{}.{}[{}]", where, field, i))) items.push_back(std::move(c));
    }
    return items;
}

}  // namespace winnow::tok
