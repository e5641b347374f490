// Regenerates src/tokenizer/hf_unicode_tables.h: the code points Hugging Face tokenizers treats as
// control/format/private-use (BertNormalizer's clean_text removes them), as non-spacing marks
// (strip_accents and StripAccents remove them) and as punctuation (BertPreTokenizer, Punctuation).
// HF takes these from the unicode_categories crate, whose tables predate Unicode 9, so they differ
// from utf8proc's current ones (e.g. U+0D3B, a Mn since Unicode 10, is kept by HF). The sets are
// measured by running the npm binding on every code point, not copied from the crate.
//   cd <dir with node_modules/tokenizers> && node <repo>/tests/golden/tokenizer/gen_hf_unicode_tables.js > tables.json
//   python3 <repo>/tests/golden/tokenizer/write_hf_unicode_tables.py tables.json > <repo>/src/tokenizer/hf_unicode_tables.h
const path = require('path');
const t = require(path.join(process.cwd(), 'node_modules', 'tokenizers'));
const version = require(path.join(process.cwd(), 'node_modules', 'tokenizers', 'package.json')).version;
const clean = t.bertNormalizer({cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false});
const strip = t.bertNormalizer({cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false});
const pre = t.bertPreTokenizer();
const mn = [], other = [], punct = [];
for (let c = 0; c <= 0x10FFFF; c++) {
  if (c >= 0xD800 && c <= 0xDFFF) continue;
  const s = String.fromCodePoint(c);
  // NUL and U+FFFD are removed by their own rule, not as controls.
  if (c !== 0 && c !== 0xFFFD && clean.normalizeString('x' + s + 'y') === 'xy') other.push(c);
  // A code point that is its own NFD and disappears under strip_accents is a mark to HF.
  if (s.normalize('NFD') === s && strip.normalizeString(s) === '') mn.push(c);
  if (pre.preTokenizeString('a' + s + 'b').length === 3 && !/\s/u.test(s)) punct.push(c);
}
function ranges(a) {
  const r = [];
  for (const c of a) {
    if (r.length && r[r.length - 1][1] === c - 1) r[r.length - 1][1] = c;
    else r.push([c, c]);
  }
  return r;
}
process.stdout.write(JSON.stringify({generator: 'npm tokenizers ' + version, mn: ranges(mn), other: ranges(other),
                                     punct: ranges(punct)}));
