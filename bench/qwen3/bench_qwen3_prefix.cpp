// bench_qwen3_prefix: what reusing the KV cache of a query's shared prompt prefix (system prompt +
// instruction + query) saves when an LLM reranker (Qwen3-Reranker format) scores 100 documents per
// query, measured side by side with scoring every prompt from scratch, and the largest score
// difference between the two.
//
//   bench_qwen3_prefix [--model DIR] [--queries N] [--docs N] [--layers N] [--threads N]
//
// Without --model it writes a random-weight Qwen3 folder with the Qwen3-Reranker-0.6B layer shape
// (hidden 1024, 16 query / 8 kv heads of 128, SwiGLU 3072, tied embeddings; --layers of the 28,
// default 4) and the GPT-2 byte-level BPE tokenizer plus the chat tokens, so that prompt and
// document lengths in tokens are realistic. Queries and passages: shared/data/ir/subset-msmarco-agentset.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "infer/llm_reranker.h"
#include "tensor/dtype.h"
#include "winnow/error.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

const std::string kShared = WINNOW_SHARED_DIR;

struct Shape {
    std::size_t hidden = 1024, heads = 16, kv_heads = 8, head_dim = 128, intermediate = 3072, layers = 4;
};

struct TensorSpec {
    std::string name;
    std::vector<std::size_t> shape;
    bool ones = false;  // norm weights
};

// A random-weight Qwen3 folder (BF16 safetensors) with the GPT-2 tokenizer + <|im_start|>/<|im_end|>.
std::string write_synthetic_model(const Shape& s) {
    const fs::path dir = fs::temp_directory_path() / ("winnow_bench_qwen3_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    Json tokenizer = load_json_file(kShared + "/data/tokenizers/gpt2/gpt2_tokenizer.json");
    const std::size_t base_vocab = tokenizer["model"]["vocab"].size();
    std::size_t next = base_vocab;
    for (const char* special : {"<|im_start|>", "<|im_end|>"}) {
        tokenizer["added_tokens"].push_back({{"id", next++},
                                             {"content", special},
                                             {"single_word", false},
                                             {"lstrip", false},
                                             {"rstrip", false},
                                             {"normalized", false},
                                             {"special", true}});
    }
    const std::size_t vocab = next;
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    const Json config = {{"architectures", {"Qwen3ForCausalLM"}},
                         {"model_type", "qwen3"},
                         {"hidden_size", s.hidden},
                         {"num_hidden_layers", s.layers},
                         {"num_attention_heads", s.heads},
                         {"num_key_value_heads", s.kv_heads},
                         {"head_dim", s.head_dim},
                         {"intermediate_size", s.intermediate},
                         {"vocab_size", vocab},
                         {"max_position_embeddings", 40960},
                         {"rms_norm_eps", 1e-6},
                         {"rope_theta", 1000000.0},
                         {"hidden_act", "silu"},
                         {"tie_word_embeddings", true},
                         {"eos_token_id", 50256}};
    std::ofstream(dir / "config.json") << config.dump(2);

    std::vector<TensorSpec> specs{{"model.embed_tokens.weight", {vocab, s.hidden}}};
    for (std::size_t l = 0; l < s.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        specs.push_back({p + "input_layernorm.weight", {s.hidden}, true});
        specs.push_back({p + "self_attn.q_proj.weight", {s.heads * s.head_dim, s.hidden}});
        specs.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * s.head_dim, s.hidden}});
        specs.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * s.head_dim, s.hidden}});
        specs.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * s.head_dim}});
        specs.push_back({p + "self_attn.q_norm.weight", {s.head_dim}, true});
        specs.push_back({p + "self_attn.k_norm.weight", {s.head_dim}, true});
        specs.push_back({p + "post_attention_layernorm.weight", {s.hidden}, true});
        specs.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}});
        specs.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}});
        specs.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}});
    }
    specs.push_back({"model.norm.weight", {s.hidden}, true});

    Json header = Json::object();
    std::size_t offset = 0;
    for (const auto& spec : specs) {
        std::size_t n = 1;
        for (auto d : spec.shape) n *= d;
        header[spec.name] = {{"dtype", "BF16"}, {"shape", spec.shape}, {"data_offsets", {offset, offset + 2 * n}}};
        offset += 2 * n;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::ofstream out(dir / "model.safetensors", std::ios::binary);
    const std::uint64_t header_size = text.size();
    out.write(reinterpret_cast<const char*>(&header_size), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<std::uint16_t> buffer;
    for (const auto& spec : specs) {
        std::size_t n = 1;
        for (auto d : spec.shape) n *= d;
        buffer.resize(n);
        for (auto& b : buffer) b = f32_to_bf16(spec.ones ? 1.0f : normal(rng));
        out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(2 * n));
    }
    return dir.string();
}

std::vector<std::string> read_texts(const std::string& path, std::size_t limit) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (out.size() < limit && std::getline(in, line)) {
        const Json j = Json::parse(line);
        std::string text = j.value("title", std::string());
        if (!text.empty()) text += ". ";
        text += j.value("text", std::string());
        out.push_back(std::move(text));
    }
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
    std::string model;
    std::size_t n_queries = 3, n_docs = 100, threads = 0;
    Shape shape;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            WINNOW_CHECK(i + 1 < argc, Errc::InvalidArgument, "{} needs a value", arg);
            return argv[++i];
        };
        if (arg == "--model")
            model = value();
        else if (arg == "--queries")
            n_queries = std::stoul(value());
        else if (arg == "--docs")
            n_docs = std::stoul(value());
        else if (arg == "--layers")
            shape.layers = std::stoul(value());
        else if (arg == "--threads")
            threads = std::stoul(value());
        else
            WINNOW_THROW(Errc::InvalidArgument, "unknown argument '{}'", arg);
    }
    const bool synthetic = model.empty();
    if (synthetic) model = write_synthetic_model(shape);
    ModelOptions options;
    options.n_threads = threads;
    options.precision = Precision::Fp32;
    const LlmReranker reranker(model, options);

    const std::string data = kShared + "/data/ir/subset-msmarco-agentset/";
    const auto queries = read_texts(data + "queries.jsonl", n_queries);
    const auto passages = read_texts(data + "corpus.jsonl", n_queries * n_docs);
    std::printf("model: %s (%s)\n", synthetic ? "synthetic Qwen3-Reranker-0.6B layer shape" : model.c_str(),
                synthetic ? (std::to_string(shape.layers) + " layers").c_str() : "as loaded");
    std::printf("%-6s %5s %7s %9s %11s %10s %9s %12s\n", "query", "docs", "prefix", "doc_tok", "scratch_s", "reuse_s",
                "speedup", "max|d_raw|");
    double total_scratch = 0.0, total_reuse = 0.0, worst = 0.0;
    for (std::size_t q = 0; q < queries.size(); ++q) {
        std::vector<std::vector<std::int32_t>> prompts;
        for (std::size_t d = 0; d < n_docs && q * n_docs + d < passages.size(); ++d) {
            prompts.push_back(reranker.tokenize(queries[q], passages[q * n_docs + d]).ids);
        }
        std::vector<std::size_t> all(prompts.size());
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
        const std::vector<std::vector<std::size_t>> group{all};
        std::size_t prefix = prompts[0].size();
        std::size_t tokens = 0;
        for (const auto& p : prompts) {
            tokens += p.size();
            prefix = std::min<std::size_t>(
                prefix, static_cast<std::size_t>(
                            std::mismatch(p.begin(), p.end(), prompts[0].begin(), prompts[0].end()).first - p.begin()));
        }
        auto start = std::chrono::steady_clock::now();
        const auto scratch = reranker.score_prompts(prompts, group, false);
        const double t_scratch = seconds_since(start);
        start = std::chrono::steady_clock::now();
        const auto reused = reranker.score_prompts(prompts, group, true);
        const double t_reuse = seconds_since(start);
        double diff = 0.0;
        for (std::size_t i = 0; i < scratch.size(); ++i) {
            diff = std::max(diff, static_cast<double>(std::abs(scratch[i].raw_score - reused[i].raw_score)));
        }
        std::printf("%-6zu %5zu %7zu %9.1f %11.3f %10.3f %8.2fx %12.2e\n", q, prompts.size(), prefix,
                    static_cast<double>(tokens) / static_cast<double>(prompts.size()) - static_cast<double>(prefix),
                    t_scratch, t_reuse, t_scratch / t_reuse, diff);
        total_scratch += t_scratch;
        total_reuse += t_reuse;
        worst = std::max(worst, diff);
    }
    std::printf("total: scratch %.3f s, reuse %.3f s, speed-up %.2fx, max |raw score difference| %.2e\n", total_scratch,
                total_reuse, total_scratch / total_reuse, worst);
    if (synthetic) fs::remove_all(model);
    return 0;
}

}  // namespace
}  // namespace winnow

int main(int argc, char** argv) {
    try {
        return winnow::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_qwen3_prefix: %s\n", e.what());
        return 1;
    }
}
