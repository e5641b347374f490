#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/component_json.h"
#include "tokenizer/processors/processor.h"
#include "tokenizer/pre_tokenizers/pre_tokenizer.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {
namespace {

void append_move(Encoding& self, Encoding&& pair) {
    if (self.ids.empty()) {
        std::vector<Encoding> keep = std::move(self.overflowing);
        self = std::move(pair);
        self.overflowing = std::move(keep);
        return;
    }
    self.ids.insert(self.ids.end(), pair.ids.begin(), pair.ids.end());
    self.type_ids.insert(self.type_ids.end(), pair.type_ids.begin(), pair.type_ids.end());
    self.tokens.insert(self.tokens.end(), std::make_move_iterator(pair.tokens.begin()),
                       std::make_move_iterator(pair.tokens.end()));
    self.offsets.insert(self.offsets.end(), pair.offsets.begin(), pair.offsets.end());
    self.special_tokens_mask.insert(self.special_tokens_mask.end(), pair.special_tokens_mask.begin(),
                                    pair.special_tokens_mask.end());
    self.attention_mask.insert(self.attention_mask.end(), pair.attention_mask.begin(), pair.attention_mask.end());
}

void append(Encoding& self, const Encoding& pair) {
    self.ids.insert(self.ids.end(), pair.ids.begin(), pair.ids.end());
    self.type_ids.insert(self.type_ids.end(), pair.type_ids.begin(), pair.type_ids.end());
    self.tokens.insert(self.tokens.end(), pair.tokens.begin(), pair.tokens.end());
    self.offsets.insert(self.offsets.end(), pair.offsets.begin(), pair.offsets.end());
    self.special_tokens_mask.insert(self.special_tokens_mask.end(), pair.special_tokens_mask.begin(),
                                    pair.special_tokens_mask.end());
    self.attention_mask.insert(self.attention_mask.end(), pair.attention_mask.begin(), pair.attention_mask.end());
}

Encoding special_encoding(const std::vector<std::int32_t>& ids, const std::vector<std::string>& tokens,
                          std::int32_t type_id) {
    Encoding e;
    e.ids = ids;
    e.tokens = tokens;
    e.type_ids.assign(ids.size(), type_id);
    e.offsets.assign(ids.size(), {0, 0});
    e.special_tokens_mask.assign(ids.size(), 1);
    e.attention_mask.assign(ids.size(), 1);
    return e;
}

// Wraps e (and, separately, each of its overflowings) as before + e + after.
Encoding wrap(const Encoding& e, const Encoding& before, const Encoding& after, const std::vector<std::int32_t>* type_ids_override) {
    auto one = [&](const Encoding& x) {
        Encoding out = before;
        Encoding mid = x;
        mid.overflowing.clear();
        mid.special_tokens_mask.assign(mid.ids.size(), 0);
        if (type_ids_override) mid.type_ids.assign(mid.ids.size(), (*type_ids_override)[0]);
        append(out, mid);
        append(out, after);
        return out;
    };
    Encoding result = one(e);
    for (const Encoding& o : e.overflowing) result.overflowing.push_back(one(o));
    return result;
}

struct SpecialTokenDef {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;
};

class TemplateProcessing final : public PostProcessor {
public:
    struct Piece {
        bool is_sequence;
        int seq;  // 0 = A, 1 = B
        std::string special;
        std::int32_t type_id;
    };

    TemplateProcessing(const Json& j, const std::string& where) {
        auto st = j.find("special_tokens");
        if (st != j.end() && !st->is_null()) {
            WINNOW_CHECK(st->is_object(), Errc::Corrupt, "{}: field 'special_tokens' must be an object", where);
            for (const auto& [name, def] : st->items()) {
                SpecialTokenDef d;
                d.ids = json_get<std::vector<std::int32_t>>(def, "ids", where + ".special_tokens." + name);
                d.tokens = json_get<std::vector<std::string>>(def, "tokens", where + ".special_tokens." + name);
                WINNOW_CHECK(d.ids.size() == d.tokens.size(), Errc::Corrupt,
                             "{}: special token '{}' has {} ids but {} tokens", where, name, d.ids.size(),
                             d.tokens.size());
                specials_.emplace(name, std::move(d));
            }
        }
        single_ = parse_template(j, "single", where);
        pair_ = parse_template(j, "pair", where);
    }

    std::size_t added_tokens(bool pair) const override {
        std::size_t n = 0;
        for (const Piece& p : pair ? pair_ : single_) {
            if (!p.is_sequence) n += specials_.at(p.special).ids.size();
        }
        return n;
    }

    void process_encodings(std::vector<Encoding>& encodings, bool add_special_tokens) const override {
        const auto& tmpl = encodings.size() == 2 ? pair_ : single_;
        std::vector<Encoding> out;
        out.reserve(tmpl.size());
        int uses[2] = {0, 0};
        for (const Piece& p : tmpl) {
            if (p.is_sequence) ++uses[p.seq == 0 ? 0 : 1];
        }
        for (const Piece& p : tmpl) {
            if (p.is_sequence) {
                const std::size_t i = p.seq == 0 ? 0 : 1;
                if (i >= encodings.size()) continue;
                Encoding& e = encodings[i];
                e.type_ids.assign(e.ids.size(), p.type_id);
                if (--uses[i] == 0) {
                    out.push_back(std::move(e));  // last use: no copy
                } else {
                    out.push_back(e);
                }
            } else if (add_special_tokens) {
                const SpecialTokenDef& d = specials_.at(p.special);
                out.push_back(special_encoding(d.ids, d.tokens, p.type_id));
            }
        }
        encodings.swap(out);
    }

private:
    std::vector<Piece> parse_template(const Json& j, const char* key, const std::string& where) {
        auto it = j.find(key);
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field '{}'", where, key);
        std::vector<Piece> pieces;
        auto add_special = [&](const std::string& name, std::int32_t type_id) {
            WINNOW_CHECK(specials_.count(name) != 0, Errc::Corrupt,
                         "{}: template '{}' uses special token '{}' missing from 'special_tokens'", where, key, name);
            pieces.push_back(Piece{false, 0, name, type_id});
        };
        if (it->is_string()) {  // "[CLS] $A [SEP]" form
            std::string s = it->get<std::string>();
            std::size_t pos = 0;
            while (pos < s.size()) {
                while (pos < s.size() && s[pos] == ' ') ++pos;
                if (pos >= s.size()) break;
                std::size_t e = s.find(' ', pos);
                if (e == std::string::npos) e = s.size();
                std::string item = s.substr(pos, e - pos);
                pos = e;
                auto small_int = [&](const std::string& digits) {
                    WINNOW_CHECK(!digits.empty() && digits.size() <= 6 &&
                                     digits.find_first_not_of("0123456789") == std::string::npos,
                                 Errc::Corrupt, "{}: bad type id '{}' in template '{}'", where, digits, key);
                    return static_cast<std::int32_t>(std::stol(digits));
                };
                std::int32_t type_id = 0;
                if (auto colon = item.rfind(':'); colon != std::string::npos && colon + 1 < item.size() &&
                                                  std::isdigit(static_cast<unsigned char>(item[colon + 1]))) {
                    type_id = small_int(item.substr(colon + 1));
                    item = item.substr(0, colon);
                }
                if (item == "$A" || item == "$") pieces.push_back(Piece{true, 0, "", type_id});
                else if (item == "$B") pieces.push_back(Piece{true, 1, "", type_id});
                else if (item.size() > 1 && item[0] == '$') pieces.push_back(Piece{true, 0, "", small_int(item.substr(1))});
                else add_special(item, type_id);
            }
            return pieces;
        }
        WINNOW_CHECK(it->is_array(), Errc::Corrupt, "{}: field '{}' must be an array", where, key);
        for (const Json& p : *it) {
            if (auto s = p.find("Sequence"); s != p.end()) {
                const std::string id = json_get<std::string>(*s, "id", where + "." + key);
                WINNOW_CHECK(id == "A" || id == "B", Errc::Corrupt, "{}: sequence id '{}' must be A or B", where, id);
                pieces.push_back(Piece{true, id == "A" ? 0 : 1, "", json_get_or<std::int32_t>(*s, "type_id", 0, where)});
            } else if (auto t = p.find("SpecialToken"); t != p.end()) {
                add_special(json_get<std::string>(*t, "id", where + "." + key),
                            json_get_or<std::int32_t>(*t, "type_id", 0, where));
            } else {
                WINNOW_THROW(Errc::Corrupt, "{}: template '{}' item must be 'Sequence' or 'SpecialToken'", where, key);
            }
        }
        return pieces;
    }

    std::map<std::string, SpecialTokenDef> specials_;
    std::vector<Piece> single_;
    std::vector<Piece> pair_;
};

std::pair<std::string, std::int32_t> read_name_id(const Json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    WINNOW_CHECK(it != j.end() && it->is_array() && it->size() == 2 && (*it)[0].is_string() &&
                     (*it)[1].is_number_integer(),
                 Errc::Corrupt, "{}: field '{}' must be [token, id]", where, key);
    return {(*it)[0].get<std::string>(), json_value_as<std::int32_t>((*it)[1], key, where)};
}

class BertProcessing final : public PostProcessor {
public:
    BertProcessing(const Json& j, const std::string& where)
        : sep_(read_name_id(j, "sep", where)), cls_(read_name_id(j, "cls", where)) {}
    std::size_t added_tokens(bool pair) const override { return pair ? 3 : 2; }
    void process_encodings(std::vector<Encoding>& encodings, bool add_special_tokens) const override {
        if (!add_special_tokens) return;
        const Encoding cls = special_encoding({cls_.second}, {cls_.first}, 0);
        const Encoding sep0 = special_encoding({sep_.second}, {sep_.first}, 0);
        const Encoding sep1 = special_encoding({sep_.second}, {sep_.first}, 1);
        for (std::size_t i = 0; i < encodings.size(); ++i) {
            encodings[i] = i == 0 ? wrap(encodings[i], cls, sep0, nullptr) : wrap(encodings[i], Encoding{}, sep1, nullptr);
        }
    }

private:
    std::pair<std::string, std::int32_t> sep_;
    std::pair<std::string, std::int32_t> cls_;
};

class RobertaProcessing final : public PostProcessor {
public:
    RobertaProcessing(const Json& j, const std::string& where)
        : sep_(read_name_id(j, "sep", where)),
          cls_(read_name_id(j, "cls", where)),
          trim_offsets_(json_get_or<bool>(j, "trim_offsets", true, where)),
          add_prefix_space_(json_get_or<bool>(j, "add_prefix_space", true, where)) {}
    std::size_t added_tokens(bool pair) const override { return pair ? 4 : 2; }
    void process_encodings(std::vector<Encoding>& encodings, bool add_special_tokens) const override {
        if (trim_offsets_) {
            for (Encoding& e : encodings) {
                trim_byte_level_offsets(e, add_prefix_space_);
                for (Encoding& o : e.overflowing) trim_byte_level_offsets(o, add_prefix_space_);
            }
        }
        for (Encoding& e : encodings) e.type_ids.assign(e.ids.size(), 0);
        if (!add_special_tokens) return;
        const Encoding cls = special_encoding({cls_.second}, {cls_.first}, 0);
        const Encoding sep = special_encoding({sep_.second}, {sep_.first}, 0);
        const std::vector<std::int32_t> zero{0};
        for (std::size_t i = 0; i < encodings.size(); ++i) {
            encodings[i] = i == 0 ? wrap(encodings[i], cls, sep, &zero) : wrap(encodings[i], sep, sep, &zero);
        }
    }

private:
    std::pair<std::string, std::int32_t> sep_;
    std::pair<std::string, std::int32_t> cls_;
    bool trim_offsets_;
    bool add_prefix_space_;
};

class ByteLevelProcessing final : public PostProcessor {
public:
    ByteLevelProcessing(bool trim_offsets, bool add_prefix_space)
        : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}
    std::size_t added_tokens(bool) const override { return 0; }
    void process_encodings(std::vector<Encoding>& encodings, bool) const override {
        if (!trim_offsets_) return;
        for (Encoding& e : encodings) {
            trim_byte_level_offsets(e, add_prefix_space_);
            for (Encoding& o : e.overflowing) trim_byte_level_offsets(o, add_prefix_space_);
        }
    }

private:
    bool trim_offsets_;
    bool add_prefix_space_;
};

class SequenceProcessing final : public PostProcessor {
public:
    explicit SequenceProcessing(std::vector<std::unique_ptr<PostProcessor>> items) : items_(std::move(items)) {}
    std::size_t added_tokens(bool pair) const override {
        std::size_t n = 0;
        for (const auto& p : items_) n += p->added_tokens(pair);
        return n;
    }
    void process_encodings(std::vector<Encoding>& encodings, bool add_special_tokens) const override {
        for (const auto& p : items_) p->process_encodings(encodings, add_special_tokens);
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> items_;
};

}  // namespace

void trim_byte_level_offsets(Encoding& e, bool add_prefix_space) {
    const char32_t space = byte_to_unicode(' ');
    for (std::size_t i = 0; i < e.tokens.size(); ++i) {
        const std::string& tok = e.tokens[i];
        auto& off = e.offsets[i];
        std::vector<char32_t> chars;
        std::size_t p = 0;
        while (p < tok.size()) {
            std::size_t len;
            chars.push_back(decode_utf8(tok, p, &len));
            p += len;
        }
        std::size_t leading = 0;
        while (leading < chars.size() && (chars[leading] == space || is_whitespace(chars[leading]))) ++leading;
        std::size_t trailing = 0;
        while (trailing < chars.size() &&
               (chars[chars.size() - 1 - trailing] == space || is_whitespace(chars[chars.size() - 1 - trailing]))) {
            ++trailing;
        }
        if (leading == 0 && trailing == 0) continue;
        if (leading > 0) {
            const bool is_first = i == 0 || off.first == 0;
            if (is_first && add_prefix_space && leading == 1) leading = 0;
            off.first = std::min<std::uint32_t>(off.first + static_cast<std::uint32_t>(leading), off.second);
        }
        if (trailing > 0 && off.second >= trailing) {
            off.second = std::max<std::uint32_t>(off.second - static_cast<std::uint32_t>(trailing), off.first);
        }
    }
}

void merge_with(Encoding& self, const Encoding& pair) {
    std::vector<Encoding> overflowings;
    for (const Encoding& so : self.overflowing) {
        Encoding n = so;
        merge_with(n, pair);
        overflowings.push_back(std::move(n));
        for (const Encoding& po : pair.overflowing) {
            Encoding m = so;
            merge_with(m, po);
            overflowings.push_back(std::move(m));
        }
    }
    for (const Encoding& po : pair.overflowing) {
        Encoding n = self;
        merge_with(n, po);
        overflowings.push_back(std::move(n));
    }
    self.overflowing = std::move(overflowings);
    append(self, pair);
}

Encoding post_process(const PostProcessor* p, Encoding a, std::optional<Encoding> b, bool add_special_tokens) {
    std::vector<Encoding> encodings;
    encodings.push_back(std::move(a));
    if (b) encodings.push_back(std::move(*b));
    if (p == nullptr) {
        if (encodings.size() == 1) return std::move(encodings[0]);
    } else {
        for (std::size_t i = 0; i < encodings.size(); ++i) {
            encodings[i].type_ids.assign(encodings[i].ids.size(), static_cast<std::int32_t>(i));
        }
        p->process_encodings(encodings, add_special_tokens);
    }
    Encoding merged;
    bool any_overflow = false;
    for (const Encoding& e : encodings) any_overflow |= !e.overflowing.empty();
    if (!any_overflow) {
        std::size_t n = 0;
        for (const Encoding& e : encodings) n += e.ids.size();
        for (Encoding& e : encodings) {
            if (merged.ids.empty()) {
                merged = std::move(e);
                merged.ids.reserve(n);
                merged.type_ids.reserve(n);
                merged.tokens.reserve(n);
                merged.offsets.reserve(n);
                merged.special_tokens_mask.reserve(n);
                merged.attention_mask.reserve(n);
            } else {
                append_move(merged, std::move(e));
            }
        }
        return merged;
    }
    for (const Encoding& e : encodings) merge_with(merged, e);
    return merged;
}

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected an object", where);
    const std::string type = json_get<std::string>(j, "type", where);
    const std::string here = where + " (" + type + ")";
    if (type == "TemplateProcessing") return std::make_unique<TemplateProcessing>(j, here);
    if (type == "BertProcessing") return std::make_unique<BertProcessing>(j, here);
    if (type == "RobertaProcessing") return std::make_unique<RobertaProcessing>(j, here);
    if (type == "ByteLevel") {
        return std::make_unique<ByteLevelProcessing>(json_get_or<bool>(j, "trim_offsets", true, here),
                                                     json_get_or<bool>(j, "add_prefix_space", true, here));
    }
    if (type == "Sequence") {
        return std::make_unique<SequenceProcessing>(
            read_sequence<PostProcessor>(j, "processors", where, here, make_post_processor));
    }
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported post_processor type '{}'", where, type);
}

}  // namespace winnow::tok
