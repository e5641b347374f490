#include "server/ui_page.h"

namespace winnow::server {

const std::string& ui_page() {
    static const std::string kPage = R"WINNOWUI(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>winnow: search and label</title>
<style>
  :root { --fg: #1d232a; --muted: #5d6875; --line: #d9dee4; --accent: #2457a6; --good: #1f7a3e; --bad: #a33030; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f6f7f9; }
  header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; }
  header h1 { margin: 0; font-size: 18px; }
  header span { color: var(--muted); font-size: 13px; }
  form { display: flex; gap: 8px; padding: 16px 24px; flex-wrap: wrap; }
  input[type=text], input[type=password] { padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  #query { flex: 1 1 420px; }
  #k, #top_n { width: 80px; }
  button { padding: 8px 14px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; font: inherit; cursor: pointer; }
  button.secondary { background: #fff; color: var(--fg); border-color: var(--line); padding: 3px 10px; font-size: 13px; }
  button.secondary.on-good { background: var(--good); color: #fff; border-color: var(--good); }
  button.secondary.on-bad { background: var(--bad); color: #fff; border-color: var(--bad); }
  #status { padding: 0 24px; color: var(--muted); min-height: 1.4em; }
  #status.error { color: var(--bad); }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 8px 24px 32px; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  ol { list-style: none; margin: 0; padding: 0; }
  li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 8px; }
  .meta { color: var(--muted); font-size: 12px; display: flex; gap: 12px; flex-wrap: wrap; }
  .text { margin: 4px 0 6px; white-space: pre-wrap; max-height: 9em; overflow: hidden; }
  .labels { display: flex; gap: 6px; align-items: center; }
  .moved-up { color: var(--good); } .moved-down { color: var(--bad); }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>winnow</h1><span>retrieve wide, rerank narrow: first stage and reranked lists side by side</span></header>
<form id="search-form">
  <input type="text" id="query" name="query" placeholder="Ask the index a question" autocomplete="off" required>
  <input type="text" id="k" name="k" placeholder="k" title="first-stage candidates (k)">
  <input type="text" id="top_n" name="top_n" placeholder="top n" title="results kept after reranking">
  <input type="password" id="api-key" placeholder="API key (if required)" autocomplete="off">
  <button type="submit" id="search-button">Search</button>
</form>
<div id="status" role="status"></div>
<main>
  <section><h2>First stage</h2><ol id="first-stage"></ol></section>
  <section><h2>Reranked</h2><ol id="reranked"></ol></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const keyBox = $("api-key");
keyBox.value = localStorage.getItem("winnow.apiKey") || "";
keyBox.addEventListener("change", () => localStorage.setItem("winnow.apiKey", keyBox.value));
let lastQuery = "";

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (keyBox.value) headers["Authorization"] = "Bearer " + keyBox.value;
  const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || ("HTTP " + res.status));
  return data;
}

function item(result, extra) {
  const li = document.createElement("li");
  li.dataset.docId = result.doc_id;
  const meta = document.createElement("div");
  meta.className = "meta";
  const add = (text, cls) => { const s = document.createElement("span"); s.textContent = text; if (cls) s.className = cls; meta.appendChild(s); };
  add("#" + result.rank);
  add(result.doc_id + (result.chunk_id !== undefined ? " / chunk " + result.chunk_id : ""));
  add("score " + Number(result.score).toFixed(4));
  if (extra) extra(add);
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = result.text || "";
  li.append(meta, text);
  return li;
}

function labelButtons(result) {
  const box = document.createElement("div");
  box.className = "labels";
  const make = (label, relevance, onClass) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = label;
    b.dataset.relevance = String(relevance);
    b.addEventListener("click", async () => {
      try {
        await api("/v1/labels", { query: lastQuery, doc_id: String(result.doc_id), relevance });
        box.querySelectorAll("button").forEach((x) => x.classList.remove("on-good", "on-bad"));
        b.classList.add(onClass);
        box.dataset.saved = String(relevance);
        setStatus("Saved: " + result.doc_id + " is " + (relevance ? "relevant" : "not relevant"));
      } catch (e) {
        setStatus("Label not saved: " + e.message, true);
      }
    });
    return b;
  };
  box.append(make("Relevant", 1, "on-good"), make("Not relevant", 0, "on-bad"));
  return box;
}

$("search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const query = $("query").value.trim();
  if (!query) return;
  const body = { query, include_first_stage: true };
  const k = parseInt($("k").value, 10); if (k > 0) body.k = k;
  const n = parseInt($("top_n").value, 10); if (n > 0) body.top_n = n;
  setStatus("Searching…");
  const t0 = performance.now();
  try {
    const data = await api("/v1/search", body);
    lastQuery = query;
    const first = $("first-stage"), reranked = $("reranked");
    first.replaceChildren(); reranked.replaceChildren();
    const firstRank = new Map();
    for (const r of data.first_stage || []) {
      firstRank.set(String(r.doc_id) + "/" + r.chunk_id, r.rank);
      first.appendChild(item(r));
    }
    for (const r of data.results || []) {
      const li = item(r, (add) => {
        const fr = firstRank.get(String(r.doc_id) + "/" + r.chunk_id);
        if (fr !== undefined) {
          const delta = fr - r.rank;
          add("first stage #" + fr, delta > 0 ? "moved-up" : (delta < 0 ? "moved-down" : ""));
        }
      });
      li.appendChild(labelButtons(r));
      reranked.appendChild(li);
    }
    setStatus((data.results || []).length + " results in " + Math.round(performance.now() - t0) + " ms");
  } catch (e) {
    setStatus(e.message, true);
  }
});
</script>
</body>
</html>
)WINNOWUI";
    return kPage;
}

}  // namespace winnow::server
