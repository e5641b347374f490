// Regenerates hf_vectors.json: outputs of Hugging Face tokenizers' own binding (npm `tokenizers`
// 0.23.2) for the shared tokenizer files, on the shared multilingual and llama.cpp inputs:
// ids, tokens, char offsets, decode with and without special tokens, and pairs under every
// truncation strategy with stride (main window + overflowing windows).
//   cd /tmp/hf-tok && node <repo>/tests/golden/tokenizer/gen_hf_vectors.js <shared-dir> > hf_vectors.json
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(process.cwd(), 'node_modules', 'tokenizers'));

(async () => {
  const shared = process.argv[2];
  const tk = shared + '/data/tokenizers/';
  const inputs = JSON.parse(fs.readFileSync(tk + 'multilingual-conformance-baselines/inputs_00cb4cf.json', 'utf8'))
    .map(e => e.text);
  const inp = fs.readFileSync(tk + 'llama.cpp-tokenizer-test-vectors/ggml-vocab-gpt-2.gguf.inp', 'utf8')
    .split('\n__ggml_vocab_test__\n');
  inp.pop();
  const texts = inputs.concat(inp);
  const files = {
    'bert-base-uncased': 'data/tokenizers/bert-base-uncased/tokenizer.json',
    'all-MiniLM-L6-v2': 'data/tokenizers/all-MiniLM-L6-v2/tokenizer.json',
    'gpt2': 'data/tokenizers/gpt2/gpt2_tokenizer.json',
    'llama-2': 'data/tokenizers/llama-2-spm-bpe/llama_tokenizer.json',
    'falcon-7b': 'data/tokenizers/falcon-7b/falcon_tokenizer.json',
    'fixture-unigram': 'fixtures/tokenizers/unigram/tokenizer.json',
  };
  const out = { generator: 'npm tokenizers 0.23.2', tokenizers: {} };
  for (const [name, file] of Object.entries(files)) {
    const t = Tokenizer.fromFile(shared + '/' + file);
    const singles = [];
    for (let k = 0; k < texts.length; k++) {
      // Inputs are referenced by index (0.. multilingual inputs_00cb4cf, then llama.cpp .inp), not copied.
      const text = texts[k];
      const e = await t.encode(text);
      const ids = e.getIds();
      singles.push({ input: k, ids, tokens: e.getTokens(), offsets: e.getOffsets(),
                     decoded: await t.decode(ids, true), decoded_special: await t.decode(ids, false) });
    }
    const pairs = [];
    const strategies = ['LongestFirst', 'OnlyFirst', 'OnlySecond'];
    for (let i = 0; i + 1 < inputs.length; i += 7) {
      const a = inputs[i], b = inputs[i + 1];
      for (const strategy of strategies) {
        // HF panics (aborts) when stride >= the length left for a sequence: strides only with
        // LongestFirst, where each side keeps at least half of max_length - specials.
        const settings = strategy === 'LongestFirst' ? [[24, 0, 'right'], [32, 3, 'right'], [32, 2, 'left']]
                                                     : [[24, 0, 'right'], [32, 0, 'left']];
        for (const [max_length, stride, direction] of settings) {
          t.setTruncation(max_length, { strategy, stride, direction });
          let e;
          try { e = await t.encode(a, b); } catch (err) { pairs.push({ a: i, b: i + 1, strategy, max_length, stride, direction, error: true }); continue; }
          pairs.push({ a: i, b: i + 1, strategy, max_length, stride, direction, ids: e.getIds(), type_ids: e.getTypeIds(),
                       overflowing: e.getOverflowing().map(o => o.getIds()) });
        }
      }
    }
    out.tokenizers[name] = { file, singles, pairs };
  }
  process.stdout.write(JSON.stringify(out));
})();
