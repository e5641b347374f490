// Seeded random-Unicode inputs and the ids Hugging Face tokenizers (npm `tokenizers`, the Rust
// library's own Node binding) gives them, for tests/golden/tokenizer/test_random_unicode_diff.cpp.
//   cd <dir with node_modules/tokenizers> && node <repo>/tests/golden/tokenizer/random_unicode_diff.js SEED COUNT FILE...
// Prints one JSON object: {generator, seed, count, files: {FILE: [{text, ids}]}}; a file HF cannot
// load gets {error}.
const path = require('path');
const { Tokenizer } = require(path.join(process.cwd(), 'node_modules', 'tokenizers'));
const version = require(path.join(process.cwd(), 'node_modules', 'tokenizers', 'package.json')).version;

// mulberry32: a small seeded generator, so a seed names the same inputs on every machine.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const kSpecial = [0x09, 0x0A, 0x0D, 0x00, 0x01, 0x1F, 0x7F, 0x85, 0xA0, 0xAD, 0x200B, 0x200D, 0x2028, 0x3000, 0xFEFF,
                  0xFFFD, 0xFFFE];

function random_text(next) {
  const n = 1 + Math.floor(next() * 24);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = next();
    let cp;
    if (r < 0.35) cp = 0x20 + Math.floor(next() * 0x5F);                      // printable ASCII
    else if (r < 0.45) cp = kSpecial[Math.floor(next() * kSpecial.length)];  // whitespace, controls, format
    else if (r < 0.85) {                                                      // any BMP code point but surrogates
      do { cp = 0x80 + Math.floor(next() * (0x10000 - 0x80)); } while (cp >= 0xD800 && cp <= 0xDFFF);
    } else if (r < 0.95) cp = 0x10000 + Math.floor(next() * 0x100000);       // astral, mostly unassigned
    else cp = 0x300 + Math.floor(next() * 0x70);                             // combining diacritics
    s += String.fromCodePoint(cp);
  }
  return s;
}

(async () => {
  const seed = Number(process.argv[2]);
  const count = Number(process.argv[3]);
  const files = process.argv.slice(4);
  const out = { generator: 'npm tokenizers ' + version, seed, count, files: {} };
  for (const file of files) {
    const next = rng(seed);  // the same texts for every file
    let t;
    try { t = Tokenizer.fromFile(file); } catch (err) { out.files[file] = { error: String(err) }; continue; }
    const cases = [];
    for (let k = 0; k < count; k++) {
      const text = random_text(next);
      const e = await t.encode(text);
      cases.push({ text, ids: e.getIds() });
    }
    out.files[file] = cases;
  }
  process.stdout.write(JSON.stringify(out));
})();
