// RoBERTa and XLM-RoBERTa (bge-reranker-v2-m3, multilingual-e5): the BERT encoder with positions
// that start after padding_idx (pads keep padding_idx), a single token type, and the RoBERTa
// classification head (dense + tanh + out_proj on <s>).
#include "models/architectures.h"
#include "models/bert.h"

namespace winnow {

namespace {
BertVariant roberta_variant(const ModelConfig& config) {
    BertVariant variant;
    variant.prefix = "roberta.";
    variant.padding_idx = config.get_or<std::int32_t>("pad_token_id", 1);
    variant.head = BertVariant::Head::Roberta;
    variant.classifier_weight = "classifier.out_proj.weight";
    return variant;
}
}  // namespace

std::unique_ptr<Model> create_xlm_roberta(const ModelConfig& config, const WeightStore& weights,
                                          const LoadOptions& options) {
    return std::make_unique<BertModel>(config, weights, options, roberta_variant(config));
}

#ifdef WINNOW_HAVE_CUDA
std::unique_ptr<Model> create_xlm_roberta_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                                  const LoadOptions& options) {
    return create_bert_cuda(config, weights, options, roberta_variant(config));
}
#endif

}  // namespace winnow
