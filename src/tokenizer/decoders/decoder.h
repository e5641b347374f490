// Decoders (tokenizer.json "decoder"): WordPiece, ByteLevel, Metaspace, ByteFallback, Fuse, Strip,
// Replace, BPEDecoder, Sequence. decode_chain maps token strings as HF's decode_chain does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json.h"

namespace winnow::tok {

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where);

}  // namespace winnow::tok
