// Analyzer: text -> index terms. The default ("english") reproduces Lucene's EnglishAnalyzer as
// Anserini uses it: StandardTokenizer (Unicode UAX#29 word boundaries, tokens over 255 characters
// split) -> EnglishPossessiveFilter (trailing 's / ’s removed) -> LowerCaseFilter -> StopFilter
// (Lucene's 33 English stop words) -> PorterStemFilter (Snowball's original "porter" stemmer).
//
// ASCII text takes a hand-written fast path implementing the ASCII subset of the UAX#29 rules;
// other text goes through ICU's word BreakIterator. Not thread-safe (the stemmer keeps state):
// use one Analyzer per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sb_stemmer;

namespace winnow::lexical {

struct AnalyzerOptions {
    bool lowercase = true;
    bool possessives = true;
    bool stopwords = true;
    std::string stemmer = "porter";  // a Snowball algorithm name, or "none"
};

// Parses an analyzer spec: "english" (the default), "standard" (tokenize + lowercase only),
// or "english(stemmer=english,stopwords=false)". Throws Error(InvalidArgument).
AnalyzerOptions parse_analyzer_spec(std::string_view spec);

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
bool is_english_stopword(std::string_view word) noexcept;

// Splits text into raw tokens per UAX#29 (as Lucene's StandardTokenizer), before any filter.
void standard_tokenize(std::string_view text, const std::function<void(std::string_view)>& emit);

class Analyzer {
public:
    explicit Analyzer(AnalyzerOptions options = {});
    ~Analyzer();
    Analyzer(const Analyzer&) = delete;
    Analyzer& operator=(const Analyzer&) = delete;

    const AnalyzerOptions& options() const noexcept { return options_; }

    // Calls emit(term) for each index term, in order.
    void analyze(std::string_view text, const std::function<void(std::string_view)>& emit);
    std::vector<std::string> terms(std::string_view text);

private:
    std::string_view stem(const std::string& word);

    AnalyzerOptions options_;
    sb_stemmer* stemmer_ = nullptr;
    std::unordered_map<std::string, std::string> stem_cache_;
    std::string scratch_;
};

}  // namespace winnow::lexical
