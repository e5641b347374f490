// Where a --model argument points: a local folder, or a Hugging Face Hub id resolved through the
// standard HF cache (see models/hub.h).
#pragma once

#include <string>

namespace winnow {

// `model` is a local path (a folder or file that exists: returned unchanged), or a hub id
// "org/name" with an optional "@revision" (default "main"). A hub id is looked up in the HF cache;
// when absent it is downloaded (unless HF_HUB_OFFLINE=1 or allow_download is false, which throw
// NotFound naming the id, the cache folder and the `winnow pull` command to run).
// Throws InvalidArgument for a name that is neither an existing path nor a hub id.
std::string resolve_model_path(const std::string& model, bool allow_download = true);

}  // namespace winnow
