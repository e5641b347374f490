// winnow._winnow.Reranker and .Embedder: the loaded models, scoring and embedding without the GIL.
// The sentence-transformers-like classes (CrossEncoder, SentenceTransformer) are Python, in
// winnow/__init__.py, over these.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow::python {
namespace {

ModelKind parse_kind(const std::string& kind) {
    if (kind == "auto") return ModelKind::Auto;
    if (kind == "encoder") return ModelKind::Encoder;
    if (kind == "llm") return ModelKind::Llm;
    WINNOW_THROW(Errc::InvalidArgument, "model kind '{}': expected auto, encoder or llm", kind);
}

ModelOptions model_options(const std::string& precision, const std::string& device, std::size_t n_threads,
                           std::size_t max_length, std::size_t token_budget, const std::string& kind,
                           const std::string& instruction) {
    ModelOptions options;
    options.precision = parse_precision(precision);
    options.device = parse_device(device);
    options.n_threads = n_threads;
    options.max_length = max_length;
    WINNOW_CHECK(token_budget > 0, Errc::InvalidArgument, "token_budget must be positive");
    options.token_budget = token_budget;
    options.kind = parse_kind(kind);
    options.instruction = instruction;
    return options;
}

EmbedKind parse_embed_kind(const std::string& kind) {
    if (kind == "document") return EmbedKind::Document;
    if (kind == "query") return EmbedKind::Query;
    WINNOW_THROW(Errc::InvalidArgument, "embedding kind '{}': expected document or query", kind);
}

// Scores pairs batch by batch without the GIL; returns (scores, raw scores, truncated) as arrays.
py::tuple score_pairs(const Reranker& reranker, std::vector<std::pair<std::string, std::string>> pairs,
                      std::size_t batch_size) {
    const std::size_t n = pairs.size();
    py::array_t<float> scores(static_cast<py::ssize_t>(n));
    py::array_t<float> raw(static_cast<py::ssize_t>(n));
    py::array_t<bool> truncated(static_cast<py::ssize_t>(n));
    float* out_scores = scores.mutable_data();
    float* out_raw = raw.mutable_data();
    bool* out_truncated = truncated.mutable_data();
    if (n > 0) {
        run_released_in_chunks(n, batch_size, [&](std::size_t begin, std::size_t end) {
            const std::span<const std::pair<std::string, std::string>> piece(pairs.data() + begin, end - begin);
            const std::vector<PairScore> result = reranker.score_pairs(piece);
            WINNOW_ASSERT(result.size() == piece.size());
            for (std::size_t i = 0; i < result.size(); ++i) {
                out_scores[begin + i] = result[i].score;
                out_raw[begin + i] = result[i].raw_score;
                out_truncated[begin + i] = result[i].truncated;
            }
        });
    }
    return py::make_tuple(scores, raw, truncated);
}

// Embeds texts batch by batch without the GIL into one float32 array [n, dimension].
py::array_t<float> embed(const Embedder& embedder, std::vector<std::string> texts, const std::string& kind,
                         std::size_t dimensions, std::size_t batch_size) {
    const EmbedKind embed_kind = parse_embed_kind(kind);
    WINNOW_CHECK(dimensions <= embedder.dimension(), Errc::InvalidArgument,
                 "truncate_dim {} is larger than the model's dimension {}", dimensions, embedder.dimension());
    const std::size_t dim = dimensions > 0 ? dimensions : embedder.dimension();
    const std::size_t n = texts.size();
    py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(dim)});
    float* data = out.mutable_data();
    if (n > 0) {
        run_released_in_chunks(n, batch_size, [&](std::size_t begin, std::size_t end) {
            const std::span<const std::string> piece(texts.data() + begin, end - begin);
            const std::vector<std::vector<float>> vectors = embedder.embed(piece, embed_kind, dimensions);
            WINNOW_ASSERT(vectors.size() == piece.size());
            for (std::size_t i = 0; i < vectors.size(); ++i) {
                WINNOW_ASSERT(vectors[i].size() == dim);
                std::memcpy(data + (begin + i) * dim, vectors[i].data(), dim * sizeof(float));
            }
        });
    }
    return out;
}

}  // namespace

void bind_models(py::module_& m) {
    m.attr("DEFAULT_TOKEN_BUDGET") = ModelOptions{}.token_budget;  // the library's, so Python never drifts from it
    py::class_<Reranker, std::shared_ptr<Reranker>>(m, "Reranker",
                                                    "A loaded cross-encoder or LLM reranker (winnow::Reranker).")
        .def(py::init([](const std::string& model, const std::string& precision, const std::string& device,
                         std::size_t n_threads, std::size_t max_length, std::size_t token_budget,
                         const std::string& kind, const std::string& instruction) {
                 const ModelOptions options =
                     model_options(precision, device, n_threads, max_length, token_budget, kind, instruction);
                 py::gil_scoped_release release;
                 return Reranker::load(model, options);
             }),
             py::arg("model"), py::arg("precision") = "auto", py::arg("device") = "auto", py::arg("n_threads") = 0,
             py::arg("max_length") = 0,
             py::arg("token_budget") = ModelOptions{}.token_budget, py::arg("kind") = "auto", py::arg("instruction") = "")
        .def(
            "score_pairs",
            [](const Reranker& self, std::vector<std::pair<std::string, std::string>> pairs, std::size_t batch_size) {
                return score_pairs(self, std::move(pairs), batch_size);
            },
            py::arg("pairs"), py::arg("batch_size") = 0,
            "Scores (query, document) pairs; returns (scores, raw_scores, truncated) numpy arrays. "
            "batch_size pairs go to the model per call (0: all at once); Ctrl-C stops between batches.")
        .def_property_readonly("max_length", &Reranker::max_length)
        .def_property_readonly("name", &Reranker::name)
        .def_property_readonly("precision",
                               [](const Reranker& self) { return std::string(precision_name(self.precision())); })
        .def_property_readonly("device", [](const Reranker& self) { return std::string(device_name(self.device())); })
        .def("__repr__", [](const Reranker& self) { return "<winnow._winnow.Reranker " + self.name() + ">"; });

    py::class_<Embedder, std::shared_ptr<Embedder>>(m, "Embedder", "A loaded sentence embedder (winnow::Embedder).")
        .def(py::init([](const std::string& model, const std::string& precision, const std::string& device,
                         std::size_t n_threads, std::size_t max_length, std::size_t token_budget,
                         const std::string& kind, const std::string& instruction) {
                 const ModelOptions options =
                     model_options(precision, device, n_threads, max_length, token_budget, kind, instruction);
                 py::gil_scoped_release release;
                 return Embedder::load(model, options);
             }),
             py::arg("model"), py::arg("precision") = "auto", py::arg("device") = "auto", py::arg("n_threads") = 0,
             py::arg("max_length") = 0,
             py::arg("token_budget") = ModelOptions{}.token_budget, py::arg("kind") = "auto", py::arg("instruction") = "")
        .def(
            "embed",
            [](const Embedder& self, std::vector<std::string> texts, const std::string& kind, std::size_t dimensions,
               std::size_t batch_size) { return embed(self, std::move(texts), kind, dimensions, batch_size); },
            py::arg("texts"), py::arg("kind") = "document", py::arg("dimensions") = 0, py::arg("batch_size") = 0,
            "Embeds texts into a float32 array [len(texts), dimension]. kind: document|query (the model's "
            "prompt); dimensions > 0 truncates (Matryoshka). batch_size texts per call (0: all at once).")
        .def_property_readonly("dimension", &Embedder::dimension)
        .def_property_readonly("normalized", &Embedder::normalized)
        .def_property_readonly("max_length", &Embedder::max_length)
        .def_property_readonly("name", &Embedder::name)
        .def("__repr__", [](const Embedder& self) { return "<winnow._winnow.Embedder " + self.name() + ">"; });
}

}  // namespace winnow::python
