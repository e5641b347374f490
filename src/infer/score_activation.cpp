#include "infer/score_activation.h"

#include <cmath>

#include "winnow/error.h"

namespace winnow {

namespace {

ScoreActivation parse_activation_class(const std::string& name, std::string_view where) {
    // "torch.nn.modules.activation.Sigmoid", "torch.nn.Identity", ...: the class name decides.
    const auto dot = name.rfind('.');
    const std::string cls = dot == std::string::npos ? name : name.substr(dot + 1);
    if (cls == "Sigmoid") return ScoreActivation::Sigmoid;
    if (cls == "Identity") return ScoreActivation::Identity;
    if (cls == "Tanh") return ScoreActivation::Tanh;
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported cross-encoder activation '{}'", where, name);
}

}  // namespace

ScoreActivation score_activation_from_config(const Json& config, std::string_view where) {
    if (auto st = config.find("sentence_transformers"); st != config.end() && st->is_object()) {
        if (auto fn = st->find("activation_fn"); fn != st->end() && fn->is_string()) {
            return parse_activation_class(fn->get<std::string>(), where);
        }
    }
    if (auto legacy = config.find("sbert_ce_default_activation_function");
        legacy != config.end() && legacy->is_string()) {
        return parse_activation_class(legacy->get<std::string>(), where);
    }
    std::size_t num_labels = 1;
    if (auto labels = config.find("num_labels"); labels != config.end() && labels->is_number_unsigned()) {
        num_labels = labels->get<std::size_t>();
    } else if (auto id2label = config.find("id2label"); id2label != config.end() && id2label->is_object()) {
        num_labels = id2label->size();
    }
    return num_labels == 1 ? ScoreActivation::Sigmoid : ScoreActivation::Identity;
}

float apply_score_activation(ScoreActivation activation, float logit) noexcept {
    switch (activation) {
        case ScoreActivation::Sigmoid:
            return 1.0f / (1.0f + std::exp(-logit));
        case ScoreActivation::Identity:
            return logit;
        case ScoreActivation::Tanh:
            return std::tanh(logit);
    }
    return logit;
}

}  // namespace winnow
