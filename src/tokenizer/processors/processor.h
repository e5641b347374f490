// Post-processors (tokenizer.json "post_processor"): TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel, Sequence. They work on whole Encodings, as HF's do.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "winnow/tokenizer.h"

namespace winnow::tok {

class Vocab;

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    virtual std::size_t added_tokens(bool pair) const = 0;
    virtual void process_encodings(std::vector<Encoding>& encodings, bool add_special_tokens) const = 0;
};

// token_to_id resolves special token names for BertProcessing-style configs that only give names.
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where);

// HF PostProcessor::process: sets sequence type ids, runs process_encodings, merges.
Encoding post_process(const PostProcessor* p, Encoding a, std::optional<Encoding> b, bool add_special_tokens);

// HF Encoding::merge_with (growing_offsets = false).
void merge_with(Encoding& self, const Encoding& pair);
// HF ByteLevel process_offsets.
void trim_byte_level_offsets(Encoding& e, bool add_prefix_space);

}  // namespace winnow::tok
