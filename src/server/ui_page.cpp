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
  header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { margin: 0; font-size: 18px; }
  header span { color: var(--muted); font-size: 13px; }
  #info { flex-basis: 100%; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
  #info code { color: var(--fg); }
  form { display: flex; gap: 8px; padding: 16px 24px; flex-wrap: wrap; }
  input[type=text], input[type=password] { padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  #query { flex: 1 1 420px; }
  #k, #top_n { width: 80px; }
  #overrides { flex: 1 1 260px; font-family: ui-monospace, monospace; font-size: 13px; }
  button { padding: 8px 14px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; font: inherit; cursor: pointer; }
  button.secondary { background: #fff; color: var(--fg); border-color: var(--line); padding: 3px 10px; font-size: 13px; }
  button.secondary.on-good { background: var(--good); color: #fff; border-color: var(--good); }
  button.secondary.on-bad { background: var(--bad); color: #fff; border-color: var(--bad); }
  button.more { background: none; border: none; color: var(--accent); padding: 0; font-size: 13px; }
  #status { padding: 0 24px; color: var(--muted); min-height: 1.4em; }
  #status.error { color: var(--bad); }
  #empty { margin: 8px 24px; padding: 12px 16px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
  #empty h2 { font-size: 15px; margin: 0 0 6px; }
  #empty p { margin: 0 0 6px; }
  #empty ul { margin: 0; padding-left: 20px; color: var(--muted); font-size: 13px; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 8px 24px 32px; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  ol { list-style: none; margin: 0; padding: 0; }
  li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 8px; }
  li.cut { background: #fafbfc; }
  .meta { color: var(--muted); font-size: 12px; display: flex; gap: 12px; flex-wrap: wrap; }
  /* Six whole lines, never a cut through one; "Show more" opens the rest. */
  .text { margin: 4px 0 2px; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.45;
          display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 6; overflow: hidden; }
  .text.expanded { display: block; -webkit-line-clamp: none; overflow: visible; }
  .reason { font-size: 12px; margin: 4px 0 6px; }
  .reason.kept { color: var(--good); } .reason.cut { color: var(--bad); }
  .labels { display: flex; gap: 6px; align-items: center; }
  .labels .note { color: var(--muted); font-size: 12px; }
  .moved-up { color: var(--good); } .moved-down { color: var(--bad); }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>winnow</h1><span>retrieve wide, rerank narrow: first stage and reranked lists side by side</span>
  <div id="info">Loading what this server runs…</div></header>
<form id="search-form">
  <input type="text" id="query" name="query" placeholder="Ask the index a question" autocomplete="off" required>
  <input type="text" id="k" name="k" placeholder="k" title="first-stage candidates (k)">
  <input type="text" id="top_n" name="top_n" placeholder="top n" title="results kept after reranking">
  <input type="text" id="overrides" name="overrides" placeholder="overrides, e.g. bm25(k=50) > cutoff(min_score=0.5)"
         title="a pipeline spec whose stage settings override the server's for this search" autocomplete="off">
  <input type="password" id="api-key" placeholder="API key (if required)" autocomplete="off">
  <button type="submit" id="search-button">Search</button>
</form>
<div id="status" role="status"></div>
<div id="empty" hidden><h2></h2><p class="hint"></p><ul></ul></div>
<main>
  <section><h2>First stage</h2><ol id="first-stage"></ol></section>
  <section><h2>Reranked</h2><ol id="reranked"></ol></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const keyBox = $("api-key");
keyBox.value = localStorage.getItem("winnow.apiKey") || "";
keyBox.addEventListener("change", () => { localStorage.setItem("winnow.apiKey", keyBox.value); loadInfo(); });
let lastQuery = "";
// The labels of the current query by document: a label applies to the whole document, so every
// chunk of it shown (in either list) shows it.
let labels = new Map();
// The qrels file the labels go to (/v1/info): null when the server keeps none, and then no
// label buttons are shown; undefined until the info has loaded.
let labelsFile;

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  if (keyBox.value) h["Authorization"] = "Bearer " + keyBox.value;
  return h;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined ? { headers: headers(false) }
                                                   : { method: "POST", headers: headers(true), body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || ("HTTP " + res.status));
  return data;
}

// The header line: the pipeline, its reranker, the models and the index.
function showInfo(info) {
  const box = $("info");
  box.replaceChildren();
  labelsFile = info.labels;
  const part = (label, value) => {
    if (box.childNodes.length) box.append(" · ");
    const c = document.createElement("code");
    c.textContent = value;
    box.append(label + " ", c);
  };
  if (!info.pipeline) { box.textContent = "No index loaded (start the server with --index): search is off."; return; }
  part("pipeline", info.pipeline);
  const r = info.rerank;
  part("reranker", r ? (r.remote_urls ? "remote tier (" + r.remote_urls + " URLs)"
                                    : (r.kind === "rerank" ? "cross-encoder" : r.kind) + " " + r.model)
                     : "none (first-stage order)");
  if (info.models && info.models.embed) part("embedder", info.models.embed);
  if (info.index) part("index", info.index.dir + (info.index.chunks !== null ? " (" + info.index.chunks + " chunks)" : ""));
  part("labels", info.labels ? info.labels : "off (start the server with --labels FILE)");
}

async function loadInfo() {
  try {
    showInfo(await api("/v1/info"));
  } catch (e) {
    $("info").textContent = "Server details unavailable: " + e.message;
  }
}

function renderLabels() {
  document.querySelectorAll(".labels").forEach((box) => {
    const rel = labels.get(box.dataset.docId);
    box.querySelectorAll("button").forEach((b) => {
      b.classList.remove("on-good", "on-bad");
      if (rel !== undefined && Number(b.dataset.relevance) === rel) b.classList.add(rel ? "on-good" : "on-bad");
    });
    if (rel === undefined) delete box.dataset.saved; else box.dataset.saved = String(rel);
  });
}

function labelButtons(result) {
  const box = document.createElement("div");
  box.className = "labels";
  box.dataset.docId = String(result.doc_id);
  const make = (label, relevance) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = label;
    b.dataset.relevance = String(relevance);
    b.addEventListener("click", async () => {
      try {
        await api("/v1/labels", { query: lastQuery, doc_id: String(result.doc_id), relevance });
        labels.set(String(result.doc_id), relevance);
        renderLabels();
        setStatus("Saved: " + result.doc_id + " is " + (relevance ? "relevant" : "not relevant") +
                  " (every chunk of the document)");
      } catch (e) {
        setStatus("Label not saved: " + e.message, true);
      }
    });
    return b;
  };
  const note = document.createElement("span");
  note.className = "note";
  note.textContent = "labels the whole document";
  box.append(make("Relevant", 1), make("Not relevant", 0), note);
  return box;
}

function item(result, extra) {
  const li = document.createElement("li");
  li.dataset.docId = result.doc_id;
  li.dataset.decision = result.decision || "";
  if (result.decision && result.decision !== "kept") li.classList.add("cut");
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
  const more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.hidden = true;
  more.textContent = "Show more";
  more.addEventListener("click", () => {
    const open = text.classList.toggle("expanded");
    more.textContent = open ? "Show less" : "Show more";
    more.setAttribute("aria-expanded", String(open));
  });
  li.append(meta, text, more);
  if (result.reason) {
    const why = document.createElement("div");
    why.className = "reason " + (result.decision === "kept" ? "kept" : "cut");
    why.textContent = result.reason;
    li.appendChild(why);
  }
  if (labelsFile !== null) li.appendChild(labelButtons(result));
  return li;
}

// Shows "Show more" under the texts the clamp cuts short (measured once they are laid out).
function markLongTexts() {
  document.querySelectorAll("li .text").forEach((t) => {
    const more = t.nextElementSibling;
    if (!t.classList.contains("expanded")) more.hidden = t.scrollHeight <= t.clientHeight + 1;
  });
}

function showEmpty(query, data) {
  const box = $("empty");
  box.querySelector("h2").textContent = "No results for “" + query + "”";
  const empty = data.empty || {};
  box.querySelector(".hint").textContent = empty.hint || "";
  box.dataset.reason = empty.reason || "";
  const tips = {
    empty_index: ["Index documents: winnow index --index DIR --input FILES", "Then search again (no restart needed)."],
    no_indexed_terms: ["Check the spelling, or use words the documents use.", "Stop words alone match nothing."],
    no_candidates: ["Try other words, or a larger k."],
    all_cut: ["Clear or loosen the overrides (min_score, score_gap, tokens), or raise top n."],
  }[empty.reason] || [];
  const ul = box.querySelector("ul");
  ul.replaceChildren(...tips.map((t) => { const li = document.createElement("li"); li.textContent = t; return li; }));
  box.hidden = false;
}

async function loadLabels(query) {
  try {
    const data = await api("/v1/labels?query=" + encodeURIComponent(query));
    if (query !== lastQuery) return "";
    // Labels clicked while this was loading are newer than the saved ones.
    const saved = new Map(Object.entries(data.labels || {}));
    for (const [doc, rel] of labels) saved.set(doc, rel);
    labels = saved;
    renderLabels();
  } catch (e) {
    return " · saved labels not loaded: " + e.message;
  }
  return "";
}

$("search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const query = $("query").value.trim();
  if (!query) return;
  const body = { query, include_first_stage: true };
  const k = parseInt($("k").value, 10); if (k > 0) body.k = k;
  const n = parseInt($("top_n").value, 10); if (n > 0) body.top_n = n;
  const overrides = $("overrides").value.trim(); if (overrides) body.pipeline = overrides;
  setStatus("Searching…");
  const t0 = performance.now();
  try {
    const data = await api("/v1/search", body);
    lastQuery = query;
    labels = new Map();
    const first = $("first-stage"), reranked = $("reranked");
    first.replaceChildren(); reranked.replaceChildren();
    $("empty").hidden = true;
    const firstRank = new Map();
    for (const r of data.first_stage || []) {
      firstRank.set(String(r.doc_id) + "/" + r.chunk_id, r.rank);
      first.appendChild(item(r));
    }
    for (const r of data.results || []) {
      reranked.appendChild(item(r, (add) => {
        const fr = firstRank.get(String(r.doc_id) + "/" + r.chunk_id);
        if (fr !== undefined) {
          const delta = fr - r.rank;
          add("first stage #" + fr, delta > 0 ? "moved-up" : (delta < 0 ? "moved-down" : ""));
        }
      }));
    }
    markLongTexts();
    const count = (data.results || []).length;
    const ms = Math.round(performance.now() - t0);
    if (count === 0) {
      showEmpty(query, data);
      setStatus("No results in " + ms + " ms");
    } else {
      const note = labelsFile === null ? "" : await loadLabels(query);  // saved labels shown before "done"
      setStatus(count + " results in " + ms + " ms" + (data.scorer ? " · reranked by " + data.scorer : "") + note, !!note);
    }
  } catch (e) {
    setStatus(e.message, true);
  }
});
window.addEventListener("resize", markLongTexts);
loadInfo();
</script>
</body>
</html>
)WINNOWUI";
    return kPage;
}

}  // namespace winnow::server
