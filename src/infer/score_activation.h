// The cross-encoder score activation, chosen from a model config the way sentence-transformers'
// CrossEncoder does.
#pragma once

#include <string_view>

#include "core/json.h"

namespace winnow {

enum class ScoreActivation { Sigmoid, Identity, Tanh };

// config.json sentence_transformers.activation_fn (or the legacy
// sbert_ce_default_activation_function) by class name, else sigmoid for one label, identity for
// more. Errc::Unsupported naming an unknown class.
ScoreActivation score_activation_from_config(const Json& config, std::string_view where);
float apply_score_activation(ScoreActivation activation, float logit) noexcept;

}  // namespace winnow
