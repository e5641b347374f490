// The same measurement with Hugging Face tokenizers' own Node binding (npm `tokenizers`).
// Threads come from RAYON_NUM_THREADS (set by run.sh); encodeBatch runs on that rayon pool.
//   node hf_tokenizers_bench.js <tokenizer.json> <docs.jsonl> <repeat>
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

(async () => {
  const [tokPath, input, repeatArg] = process.argv.slice(2);
  const repeat = Number(repeatArg || 3);
  const docs = [];
  let bytes = 0;
  for (const line of fs.readFileSync(input, 'utf8').split('\n')) {
    if (!line) continue;
    const j = JSON.parse(line);
    let text = j.title || '';
    if (text) text += ' ';
    text += j.text || '';
    bytes += Buffer.byteLength(text, 'utf8');
    docs.push(text);
  }
  const tok = Tokenizer.fromFile(tokPath);
  let best = Infinity;
  let tokens = 0;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(docs);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, s);
    tokens = encs.reduce((a, e) => a + e.getLength(), 0);
  }
  console.log(JSON.stringify({
    impl: 'hf-tokenizers-node', tokenizer: tokPath, threads: Number(process.env.RAYON_NUM_THREADS || 0),
    docs: docs.length, bytes, tokens, seconds: Number(best.toFixed(4)),
    tokens_per_s: Math.round(tokens / best), mb_per_s: Number((bytes / best / 1e6).toFixed(2)),
  }));
})();
