// winnow's learning-to-rank reranker: LambdaMART (XGBoost rank:ndcg) over cheap retrieval
// features, used as the pipeline stage `ltr(model=FILE)`:
//
//   bm25(k=100) > ltr(model=models/ltr/default.ltr) > cutoff(top_n=10)
//
// Stage parameters: model (the model file; default $WINNOW_LTR_MODEL), index (the index directory
// whose statistics the features use; filled in by Pipeline::open_index), embed_model and
// rerank_model (optional: add the dense-cosine and cross-encoder features the model was trained with).
#pragma once

namespace winnow::ltr {

// Registers the "ltr" rerank stage with the pipeline (winnow::register_scorer). Call once before
// parsing specs that use it; the CLI does this at start-up. Idempotent.
void register_stages();

}  // namespace winnow::ltr
