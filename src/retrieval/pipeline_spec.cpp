// The pipeline spec language: parsing, validation, overrides and compilation into PipelineConfig.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "winnow/error.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

enum class Type { Uint, Count, Double, Unit, Text, LongDoc, Normalize, Fusion, Precision, Device, Dialect, Urls, Bool };

struct KeyInfo {
    std::string_view key;
    Type type;
};

// The first stage's keys: one per SearchOptions field (winnow/candidate.h); `winnow search`'s flags
// are these keys too. Counts are capped at kMaxCandidates.
constexpr KeyInfo kFirstStageKeys[] = {
    {"k", Type::Count},         {"k1", Type::Double},     {"b", Type::Unit},
    {"fusion", Type::Fusion},   {"rrf_k", Type::Double},  {"weight", Type::Unit},
    {"k_lexical", Type::Count}, {"k_dense", Type::Count}, {"ef_search", Type::Count}};
// External engines' first stages (ExternalStageOptions).
constexpr KeyInfo kXapianKeys[] = {{"k", Type::Count}, {"k1", Type::Double},   {"b", Type::Unit},
                                   {"db", Type::Text}, {"remote", Type::Text}, {"timeout_ms", Type::Uint}};
constexpr KeyInfo kElasticsearchKeys[] = {
    {"k", Type::Count},        {"url", Type::Urls},         {"index", Type::Text},           {"field", Type::Text},
    {"knn_field", Type::Text}, {"embed_model", Type::Text}, {"num_candidates", Type::Count}, {"timeout_ms", Type::Uint},
    {"dfs", Type::Bool},       {"api", Type::Text}};
constexpr KeyInfo kCutoffKeys[] = {{"top_n", Type::Uint},
                                   {"min_score", Type::Double},
                                   {"score_gap", Type::Unit},
                                   {"min_keep", Type::Uint},
                                   {"tokens", Type::Uint}};
constexpr KeyInfo kDiversityKeys[] = {{"per_doc", Type::Uint}, {"mmr", Type::Unit}};
constexpr KeyInfo kRerankKeys[] = {{"model", Type::Text},          {"long_doc", Type::LongDoc},
                                   {"max_length", Type::Uint},     {"stride", Type::Uint},
                                   {"max_windows", Type::Uint},    {"batch_tokens", Type::Uint},
                                   {"normalize", Type::Normalize}, {"precision", Type::Precision},
                                   {"device", Type::Device},       {"url", Type::Urls},
                                   {"dialect", Type::Dialect},     {"deadline_ms", Type::Uint},
                                   {"attempts", Type::Uint}};
constexpr KeyInfo kPackKeys[] = {{"tokens", Type::Uint}, {"template", Type::Text}};

bool is_external_first_stage(std::string_view name) {
    return name == "xapian" || name == "elasticsearch";
}
bool is_first_stage(std::string_view name) {
    return name == "bm25" || name == "dense" || name == "hybrid" || is_external_first_stage(name);
}
bool is_rerank_stage(std::string_view name) {
    return name == "rerank" || name == "ltr" || (has_scorer(std::string(name)) && !is_first_stage(name));
}

const KeyInfo* find_key(std::string_view stage, std::string_view key) {
    auto look = [&](const auto& table) -> const KeyInfo* {
        for (const auto& k : table) {
            if (k.key == key) return &k;
        }
        return nullptr;
    };
    if (stage == "xapian") return look(kXapianKeys);
    if (stage == "elasticsearch") return look(kElasticsearchKeys);
    if (is_first_stage(stage)) {
        // Each kind takes only the keys it uses (a key it would ignore is an error, not a no-op).
        const bool lexical_key = key == "k1" || key == "b";
        const bool dense_key = key == "ef_search";
        const bool fusion_key = !lexical_key && !dense_key && key != "k";
        if (stage == "bm25" && (dense_key || fusion_key)) return nullptr;
        if (stage == "dense" && (lexical_key || fusion_key)) return nullptr;
        return look(kFirstStageKeys);
    }
    if (stage == "cutoff") return look(kCutoffKeys);
    if (stage == "diversify") return look(kDiversityKeys);
    if (stage == "pack") return look(kPackKeys);
    if (is_rerank_stage(stage)) {
        if (auto* k = look(kRerankKeys)) return k;
        if (auto* k = look(kCutoffKeys)) return k;
        return look(kDiversityKeys);
    }
    return nullptr;
}

// "http://a:1, http://b:2" -> the URLs, trailing slashes dropped.
std::vector<std::string> split_urls(std::string_view value) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        while (!cur.empty() && cur.back() == '/') cur.pop_back();
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (char c : value) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c)))
            flush();
        else
            cur += c;
    }
    flush();
    return out;
}

std::string type_name(Type t) {
    switch (t) {
    case Type::Uint:
        return "a non-negative integer";
    case Type::Count:
        return fmt::format("an integer from 0 to {}", kMaxCandidates);
    case Type::Double:
        return "a number";
    case Type::Unit:
        return "a number in [0, 1]";
    case Type::Text:
        return "a string";
    case Type::LongDoc:
        return "truncate|maxp";
    case Type::Precision:
        return "auto|fp32|bf16|fp16|int8";
    case Type::Device:
        return "auto|cpu|cuda";
    case Type::Normalize:
        return "sigmoid|minmax|none";
    case Type::Fusion:
        return "rrf|weighted";
    case Type::Dialect:
        return "cohere|tei";
    case Type::Bool:
        return "true|false";
    case Type::Urls:
        return "one or more http:// URLs (comma or space separated, quoted when several)";
    }
    return "a value";
}

bool parse_double(std::string_view s, double& out) {
    if (s.empty()) return false;
    std::string tmp(s);
    char* end = nullptr;
    out = std::strtod(tmp.c_str(), &end);
    return end == tmp.c_str() + tmp.size() && std::isfinite(out);
}

bool parse_uint(std::string_view s, std::size_t& out) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

void validate_value(std::string_view stage, std::string_view key, std::string_view value) {
    const KeyInfo* info = find_key(stage, key);
    if (info == nullptr) {
        // Registered scorer stages (e.g. ltr) take their own extra keys.
        if (is_rerank_stage(stage) && stage != "rerank") return;
        WINNOW_THROW(Errc::InvalidArgument, "pipeline spec: stage '{}' has no parameter '{}'{}", stage, key,
                     is_first_stage(stage)
                         ? " (bm25: k, k1, b; dense: k, ef_search; hybrid: all of them and fusion, "
                           "rrf_k, weight, k_lexical, k_dense; xapian: k, k1, b, db, remote, timeout_ms; "
                           "elasticsearch: k, url, index, field, knn_field, embed_model, "
                           "num_candidates, timeout_ms, dfs, api)"
                         : "");
    }
    bool ok = true;
    double d = 0;
    std::size_t u = 0;
    switch (info->type) {
    case Type::Uint:
        ok = parse_uint(value, u);
        break;
    case Type::Count:
        ok = parse_uint(value, u) && u <= kMaxCandidates;
        break;
    case Type::Double:
        ok = parse_double(value, d);
        break;
    case Type::Unit:
        ok = parse_double(value, d) && d >= 0.0 && d <= 1.0;
        break;
    case Type::Text:
        ok = !value.empty();
        break;
    case Type::LongDoc:
        ok = value == "truncate" || value == "maxp";
        break;
    case Type::Normalize:
        ok = value == "sigmoid" || value == "minmax" || value == "none";
        break;
    case Type::Fusion:
        ok = value == "rrf" || value == "weighted";
        break;
    case Type::Precision:
        ok = value == "auto" || value == "fp32" || value == "bf16" || value == "fp16" || value == "int8";
        break;
    case Type::Device:
        ok = value == "auto" || value == "cpu" || value == "cuda";
        break;
    case Type::Dialect:
        ok = value == "cohere" || value == "tei";
        break;
    case Type::Bool:
        ok = value == "true" || value == "false";
        break;
    case Type::Urls: {
        const auto urls = split_urls(value);
        ok = !urls.empty() && std::all_of(urls.begin(), urls.end(), [](const std::string& u) {
            return u.size() > 7 && (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0);
        });
        break;
    }
    }
    WINNOW_CHECK(ok, Errc::InvalidArgument, "pipeline spec: {}.{} = '{}' is not {}", stage, key, value,
                 type_name(info->type));
}

int stage_order(std::string_view name) {
    if (is_first_stage(name)) return 0;
    if (is_rerank_stage(name)) return 1;
    if (name == "diversify") return 2;
    if (name == "cutoff") return 3;
    if (name == "pack") return 4;
    return -1;
}

void validate(const PipelineSpec& spec) {
    WINNOW_CHECK(!spec.stages.empty(), Errc::InvalidArgument,
                 "pipeline spec is empty (e.g. \"bm25(k=100) > rerank(model=...)\")");
    WINNOW_CHECK(is_first_stage(spec.stages.front().name), Errc::InvalidArgument,
                 "pipeline spec must start with a first stage (bm25|dense|hybrid|xapian|elasticsearch), not '{}'",
                 spec.stages.front().name);
    int last = -1;
    for (const auto& st : spec.stages) {
        const int order = stage_order(st.name);
        WINNOW_CHECK(order >= 0, Errc::InvalidArgument,
                     "pipeline spec: unknown stage '{}' (bm25|dense|hybrid|xapian|elasticsearch, rerank|ltr, "
                     "diversify, cutoff, pack)",
                     st.name);
        WINNOW_CHECK(order > last, Errc::InvalidArgument,
                     "pipeline spec: stage '{}' is out of place or repeated (order: first stage > rerank > diversify > "
                     "cutoff > pack)",
                     st.name);
        last = order;
        for (const auto& [k, v] : st.params) validate_value(st.name, k, v);
    }
}

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    PipelineSpec parse() {
        PipelineSpec spec;
        skip_ws();
        while (true) {
            spec.stages.push_back(stage());
            skip_ws();
            if (pos_ >= s_.size()) break;
            expect('>');
        }
        return spec;
    }

private:
    [[noreturn]] void fail(std::string_view what) const {
        WINNOW_THROW(Errc::InvalidArgument, "pipeline spec: {} at position {} in \"{}\"", what, pos_ + 1, s_);
    }
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    void expect(char c) {
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != c) fail(fmt::format("expected '{}'", c));
        ++pos_;
    }
    std::string ident() {
        skip_ws();
        const std::size_t start = pos_;
        while (pos_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '-'))
            ++pos_;
        if (pos_ == start) fail("expected a name");
        std::string out(s_.substr(start, pos_ - start));
        std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
        return out;
    }
    std::string value() {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '"') {
            ++pos_;
            std::string out;
            while (pos_ < s_.size() && s_[pos_] != '"') {
                if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
                out += s_[pos_++];
            }
            if (pos_ >= s_.size()) fail("unterminated string");
            ++pos_;
            return out;
        }
        const std::size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ')' && s_[pos_] != '>' &&
               !std::isspace(static_cast<unsigned char>(s_[pos_]))) {
            ++pos_;
        }
        if (pos_ == start) fail("expected a value");
        return std::string(s_.substr(start, pos_ - start));
    }
    StageSpec stage() {
        StageSpec st;
        st.name = ident();
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '(') {
            ++pos_;
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ')') {
                ++pos_;
                return st;
            }
            while (true) {
                std::string key = ident();
                expect('=');
                std::string v = value();
                if (st.get(key)) fail(fmt::format("parameter '{}' given twice", key));
                st.params.emplace_back(std::move(key), std::move(v));
                skip_ws();
                if (pos_ < s_.size() && s_[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                expect(')');
                break;
            }
        }
        return st;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

std::string quote_if_needed(const std::string& v) {
    const bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
        return c == ',' || c == ')' || c == '(' || c == '>' || c == '"' || c == '\\' ||
               std::isspace(static_cast<unsigned char>(c));
    });
    if (plain) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::size_t as_uint(const std::string& v) {
    std::size_t u = 0;
    parse_uint(v, u);
    return u;
}
double as_double(const std::string& v) {
    double d = 0;
    parse_double(v, d);
    return d;
}

}  // namespace

std::optional<std::string> StageSpec::get(std::string_view key) const {
    for (const auto& [k, v] : params) {
        if (k == key) return v;
    }
    return std::nullopt;
}

void StageSpec::set(std::string_view key, std::string value) {
    for (auto& [k, v] : params) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    params.emplace_back(std::string(key), std::move(value));
}

bool StageSpec::erase(std::string_view key) {
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == key; });
    if (it == params.end()) return false;
    params.erase(it);
    return true;
}

std::string StageSpec::to_string() const {
    std::string out = name;
    if (params.empty()) return out;
    out += '(';
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (i) out += ", ";
        out += params[i].first + "=" + quote_if_needed(params[i].second);
    }
    return out + ')';
}

PipelineSpec PipelineSpec::parse(std::string_view text) {
    WINNOW_CHECK(text.find_first_not_of(" \t\r\n") != std::string_view::npos, Errc::InvalidArgument,
                 "pipeline spec is empty (e.g. \"bm25(k=100) > rerank(model=...)\")");
    PipelineSpec spec = Parser(text).parse();
    validate(spec);
    return spec;
}

std::string PipelineSpec::to_string() const {
    std::string out;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        if (i) out += " > ";
        out += stages[i].to_string();
    }
    return out;
}

const StageSpec* PipelineSpec::find(std::string_view stage) const {
    for (const auto& s : stages) {
        if (s.name == stage) return &s;
    }
    return nullptr;
}

StageSpec* PipelineSpec::find(std::string_view stage) {
    for (auto& s : stages) {
        if (s.name == stage) return &s;
    }
    return nullptr;
}

void PipelineSpec::apply_override(std::string_view assignment) {
    const std::size_t eq = assignment.find('=');
    WINNOW_CHECK(eq != std::string_view::npos && eq > 0, Errc::InvalidArgument,
                 "pipeline override '{}' is not of the form [stage.]key=value", assignment);
    std::string key(assignment.substr(0, eq));
    std::string value(assignment.substr(eq + 1));
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    std::string stage;
    if (const auto dot = key.find('.'); dot != std::string::npos) {
        stage = key.substr(0, dot);
        key = key.substr(dot + 1);
        if (stage == "first_stage" || stage == "first") stage = stages.empty() ? "bm25" : stages.front().name;
    } else {
        // The stage that already sets the key, else the last present stage that accepts it,
        // else the stage that owns it by default.
        for (const auto& s : stages) {
            if (s.get(key)) stage = s.name;
        }
        if (stage.empty()) {
            for (const auto& s : stages) {
                if (find_key(s.name, key)) stage = s.name;
            }
        }
        if (stage.empty()) {
            if (find_key("cutoff", key))
                stage = "cutoff";
            else if (find_key("diversify", key))
                stage = "diversify";
            else if (find_key("rerank", key))
                stage = "rerank";
            else if (find_key("pack", key))
                stage = "pack";
        }
        WINNOW_CHECK(!stage.empty(), Errc::InvalidArgument, "pipeline override: no stage has a parameter '{}'", key);
    }
    PipelineSpec copy = *this;
    StageSpec* target = copy.find(stage);
    if (target == nullptr && is_first_stage(stage) && !copy.stages.empty() &&
        is_first_stage(copy.stages.front().name)) {
        // Switching the first stage kind: "hybrid.k=50" on a bm25 spec keeps bm25's params that hybrid also takes.
        copy.stages.front().name = stage;
        target = &copy.stages.front();
    }
    if (target == nullptr) {
        StageSpec added;
        added.name = stage;
        const int order = stage_order(stage);
        WINNOW_CHECK(order >= 0, Errc::InvalidArgument, "pipeline override: unknown stage '{}'", stage);
        auto pos = std::find_if(copy.stages.begin(), copy.stages.end(),
                                [&](const StageSpec& s) { return stage_order(s.name) > order; });
        target = &*copy.stages.insert(pos, added);
    }
    if (value.empty()) {
        target->erase(key);  // "key=" removes an override-able setting
    } else {
        target->set(key, value);
    }
    validate(copy);
    *this = std::move(copy);
}

void PipelineSpec::apply_overrides(const std::map<std::string, std::string>& overrides) {
    for (const auto& [k, v] : overrides) apply_override(k + "=" + v);
}

PipelineConfig PipelineConfig::from_spec(const PipelineSpec& spec) {
    validate(spec);
    PipelineConfig c;
    auto apply_cutoff = [&](const StageSpec& st) {
        if (auto v = st.get("top_n")) c.cutoff.top_n = as_uint(*v);
        if (auto v = st.get("min_score")) c.cutoff.min_score = as_double(*v);
        if (auto v = st.get("score_gap")) c.cutoff.score_gap = as_double(*v);
        if (auto v = st.get("min_keep")) c.cutoff.min_keep = as_uint(*v);
        if (auto v = st.get("tokens")) c.cutoff.tokens = as_uint(*v);
    };
    auto apply_diversity = [&](const StageSpec& st) {
        if (auto v = st.get("per_doc")) c.diversity.per_doc = as_uint(*v);
        if (auto v = st.get("mmr")) c.diversity.mmr = as_double(*v);
    };
    for (const auto& st : spec.stages) {
        if (is_first_stage(st.name)) {
            SearchOptions& f = c.first_stage;
            f.k = 100;
            if (is_external_first_stage(st.name)) {
                ExternalStageOptions& e = f.external;
                e.engine = st.name;
                auto list = [](const std::string& v) {
                    std::vector<std::string> out;
                    std::string cur;
                    for (char ch : v + ",") {
                        if (ch == ',' || std::isspace(static_cast<unsigned char>(ch))) {
                            if (!cur.empty()) out.push_back(cur);
                            cur.clear();
                        } else {
                            cur += ch;
                        }
                    }
                    return out;
                };
                if (auto v = st.get("db")) e.db = list(*v);
                if (auto v = st.get("remote")) e.remote = list(*v);
                if (auto v = st.get("url")) {
                    const auto urls = split_urls(*v);
                    WINNOW_CHECK(urls.size() == 1, Errc::InvalidArgument, "pipeline spec: {}.url takes one URL",
                                 st.name);
                    e.url = urls.front();
                }
                if (auto v = st.get("index")) e.index = *v;
                if (auto v = st.get("field")) e.field = *v;
                if (auto v = st.get("knn_field")) e.knn_field = *v;
                if (auto v = st.get("embed_model")) e.embed_model = *v;
                if (auto v = st.get("num_candidates")) e.num_candidates = as_uint(*v);
                if (auto v = st.get("timeout_ms")) e.timeout_ms = as_uint(*v);
                if (auto v = st.get("dfs")) e.dfs = *v == "true";
                if (auto v = st.get("api")) {
                    WINNOW_CHECK(*v == "elasticsearch" || *v == "opensearch", Errc::InvalidArgument,
                                 "pipeline spec: {}.api={}: elasticsearch or opensearch", st.name, *v);
                    e.opensearch = *v == "opensearch";
                }
                WINNOW_CHECK(e.timeout_ms > 0, Errc::InvalidArgument, "pipeline spec: {}.timeout_ms must be at least 1",
                             st.name);
                if (st.name == "xapian") {
                    WINNOW_CHECK(e.db.empty() != e.remote.empty(), Errc::InvalidArgument,
                                 "pipeline spec: xapian needs db=<folder>[,<folder>...] or remote=<host:port>[,...] "
                                 "(one of them)");
                } else {
                    WINNOW_CHECK(!e.url.empty() && !e.index.empty(), Errc::InvalidArgument,
                                 "pipeline spec: elasticsearch needs url=http://host:9200 and index=<name>");
                    WINNOW_CHECK(e.knn_field.empty() == e.embed_model.empty(), Errc::InvalidArgument,
                                 "pipeline spec: elasticsearch.knn_field and embed_model go together (the model "
                                 "embeds the query for the knn clause)");
                }
            } else {
                f.first_stage = parse_first_stage_kind(st.name);
            }
            const auto k1 = st.get("k1");
            const auto b = st.get("b");
            if (k1 || b) {
                f.bm25 = Bm25Params{};
                if (k1) f.bm25->k1 = static_cast<float>(as_double(*k1));
                if (b) f.bm25->b = static_cast<float>(as_double(*b));
                WINNOW_CHECK(f.bm25->k1 >= 0, Errc::InvalidArgument, "pipeline spec: {}.k1 must be >= 0", st.name);
                WINNOW_CHECK(f.bm25->b >= 0 && f.bm25->b <= 1, Errc::InvalidArgument,
                             "pipeline spec: {}.b must be in [0, 1]", st.name);
            }
            if (auto v = st.get("k")) f.k = as_uint(*v);
            if (auto v = st.get("fusion"))
                f.hybrid.fusion = *v == "weighted" ? FusionMethod::Weighted : FusionMethod::Rrf;
            if (auto v = st.get("rrf_k")) f.hybrid.rrf_k = as_double(*v);
            if (auto v = st.get("weight")) f.hybrid.weight = as_double(*v);
            if (auto v = st.get("k_lexical")) f.hybrid.k_lexical = as_uint(*v);
            if (auto v = st.get("k_dense")) f.hybrid.k_dense = as_uint(*v);
            if (auto v = st.get("ef_search")) f.ef_search = as_uint(*v);
            WINNOW_CHECK(f.k > 0, Errc::InvalidArgument, "pipeline spec: {}.k must be at least 1", st.name);
            WINNOW_CHECK(f.hybrid.rrf_k >= 0, Errc::InvalidArgument, "pipeline spec: {}.rrf_k must be >= 0", st.name);
        } else if (is_rerank_stage(st.name)) {
            RerankConfig& r = c.rerank;
            r.enabled = true;
            r.kind = st.name;
            for (const auto& [k, v] : st.params) {
                if (k == "model")
                    r.model = v;
                else if (k == "long_doc")
                    r.long_doc = v == "maxp" ? LongDocMode::MaxP : LongDocMode::Truncate;
                else if (k == "max_length")
                    r.max_length = as_uint(v);
                else if (k == "stride")
                    r.stride = as_uint(v);
                else if (k == "max_windows")
                    r.max_windows = std::max<std::size_t>(1, as_uint(v));
                else if (k == "batch_tokens")
                    r.batch_tokens = as_uint(v);
                else if (k == "precision")
                    r.precision = parse_precision(v);
                else if (k == "device")
                    r.device = parse_device(v);
                else if (k == "url")
                    r.urls = split_urls(v);
                else if (k == "dialect")
                    r.dialect = v == "cohere" ? RemoteDialect::Cohere : RemoteDialect::Tei;
                else if (k == "deadline_ms")
                    r.deadline_ms = as_uint(v);
                else if (k == "attempts")
                    r.attempts = as_uint(v);
                else if (k == "normalize")
                    r.normalize = v == "minmax" ? ScoreNormalization::MinMax
                                  : v == "none" ? ScoreNormalization::None
                                                : ScoreNormalization::Sigmoid;
                else if (!find_key("cutoff", k) && !find_key("diversify", k))
                    r.params[k] = v;
            }
            const bool remote_key = st.get("dialect") || st.get("deadline_ms") || st.get("attempts");
            WINNOW_CHECK(!remote_key || !r.urls.empty(), Errc::InvalidArgument,
                         "pipeline spec: {}.dialect, deadline_ms and attempts need url=... (a remote rerank tier)",
                         st.name);
            if (!r.urls.empty()) {
                WINNOW_CHECK(st.name == "rerank", Errc::InvalidArgument,
                             "pipeline spec: {}.url: only the rerank stage can score on a remote tier", st.name);
                WINNOW_CHECK(
                    r.model.empty(), Errc::InvalidArgument,
                    "pipeline spec: rerank.url and rerank.model exclude each other (the replicas hold the model)");
                WINNOW_CHECK(
                    r.long_doc == LongDocMode::Truncate && r.max_length == 0, Errc::InvalidArgument,
                    "pipeline spec: rerank.url scores whole candidates (the replicas truncate at their model's "
                    "limit): long_doc=maxp and max_length need a local model");
                WINNOW_CHECK(r.deadline_ms > 0 && r.attempts > 0, Errc::InvalidArgument,
                             "pipeline spec: rerank.deadline_ms and rerank.attempts must be at least 1");
            }
            apply_cutoff(st);
            apply_diversity(st);
        } else if (st.name == "diversify") {
            apply_diversity(st);
        } else if (st.name == "cutoff") {
            apply_cutoff(st);
        } else if (st.name == "pack") {
            c.has_pack = true;
            if (auto v = st.get("tokens")) c.pack.context_tokens = as_uint(*v);
            if (auto v = st.get("template")) c.pack.template_name = *v;
        }
    }
    return c;
}

}  // namespace winnow
