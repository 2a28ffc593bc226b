// Record browser for `corpus-ft review --serve`: pages through records, filters them and
// posts accept/reject/edit decisions to the local JSON API. Plain DOM, no network beyond it;
// every record value goes in through textContent/value, never innerHTML.
(function () {
  "use strict";
  if (document.body.dataset.interactive !== "yes") return;
  const form = document.getElementById("filters");
  const list = document.getElementById("records");
  const status = document.getElementById("status");
  const range = document.getElementById("range");
  const LIMIT = 20;
  let offset = 0, total = 0, timer = null, seq = 0;
  // A decision must survive whatever the filters do meanwhile: the list is never replaced while
  // a pointer is down on it (a click whose button vanished between press and release is lost),
  // and a list fetched before a decision's answer arrived is fetched again, not shown stale.
  let holding = false, deferred = false, answered = 0;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const c of children) node.append(c);
    return node;
  }

  function query() {
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    p.set("offset", offset); p.set("limit", LIMIT);
    return p.toString();
  }

  async function api(path, body) {
    const opts = body ? {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)} : {};
    const res = await fetch(path, opts);
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }

  async function load() {
    if (holding) { deferred = true; return; }  // after the click, not under it
    status.textContent = "loading…";
    const mine = ++seq, before = answered;
    try {
      const data = await api("api/records?" + query());
      if (mine !== seq) return;  // a newer filter was chosen while this one loaded
      if (before !== answered || holding) { load(); return; }  // a decision landed meanwhile: this list may predate it
      total = data.total;
      list.replaceChildren(...data.items.map(render));
      current = -1;
      range.textContent = total ? `${offset + 1}–${offset + data.items.length} of ${total}` : "no records match";
      document.getElementById("prev").disabled = offset === 0;
      document.getElementById("next").disabled = offset + LIMIT >= total;
      status.textContent = "";
    } catch (e) { status.textContent = "error: " + e.message; }
  }

  function renderBody(rec) {
    if (Array.isArray(rec.messages)) {
      return rec.messages.map(m => el("div", {className: "msg msg-" + m.role}, el("b", {textContent: m.role}), el("pre", {textContent: m.content})));
    }
    return [el("pre", {textContent: rec.text || ""})];
  }

  function renderSource(src) {
    const head = el("div", {className: "srchead"}, el("code", {textContent: `${src.path}:${src.start_line}-${src.end_line}`}), " " + (src.language || ""));
    if (src.text === null) return [head, el("p", {className: "muted", textContent: "source unit not found in units.parquet"})];
    const pre = el("pre", {className: "lines"});
    pre.style.counterReset = "ln " + ((src.start_line || 1) - 1);
    for (const line of src.text.split("\n")) pre.append(el("span", {textContent: line}));
    return [head, pre];
  }

  function render(item) {
    const art = el("article", {className: "record is-" + item.flag});
    art.dataset.id = item.id;
    const flag = el("span", {className: "flag flag-" + item.flag, textContent: item.flag});
    const body = el("div", {className: "rec"}, ...renderBody(item.record));
    if (item.original) body.append(el("details", {}, el("summary", {textContent: "original (before the edit)"}), ...renderBody(item.original)));
    const rerender = () => {  // a fresh card for the same record wherever it is shown now, still selected if it was
      for (const old of list.querySelectorAll("article")) {
        if (old.dataset.id !== item.id) continue;
        const fresh = render(item);
        fresh.classList.toggle("current", old.classList.contains("current"));
        old.replaceWith(fresh);
      }
    };
    const decide = async (action, fields) => {
      status.textContent = `${item.id}: saving ${action}…`;
      try {
        const res = await api("api/decisions", {record_id: item.id, action, fields});
        answered++;
        item.flag = res.flag; item.record = res.record; item.original = res.original;  // the server's word
        rerender();
        status.textContent = `${item.id}: ${res.flag} (saved)`;
      } catch (e) { status.textContent = "error: " + e.message; }
    };
    const edit = () => {
      const areas = Array.isArray(item.record.messages)
        ? item.record.messages.map(m => { const t = el("textarea", {value: m.content}); t.dataset.role = m.role; return t; })
        : [el("textarea", {value: item.record.text || ""})];
      const save = el("button", {type: "button", className: "save", textContent: "Save edit", onclick: () => {
        const fields = Array.isArray(item.record.messages)
          ? {messages: areas.map(t => ({role: t.dataset.role, content: t.value}))}
          : {text: areas[0].value};
        decide("edit", fields);
      }});
      const cancel = el("button", {type: "button", textContent: "Cancel", onclick: rerender});
      body.replaceChildren(...areas.flatMap(t => [el("b", {textContent: t.dataset.role || "text"}), t]), save, " ", cancel);
      areas[areas.length - 1].focus();  // the answer is what a reviewer usually fixes
    };
    const head = el("div", {className: "rechead"},
      el("code", {textContent: item.id}), el("span", {className: "badge", textContent: item.kind}),
      el("span", {className: "badge", textContent: item.split}),
      ...(item.left_out ? [el("span", {className: "badge badge-left-out", textContent: "left out by the last build",
                                       title: "a build with --apply-review dropped it; Accept brings it back at the next build"})] : []),
      ...(item.augmented ? [el("span", {className: "badge badge-augmented", title: "made from " + item.augmented.from,
                                        textContent: "augmented: " + item.augmented.op})] : []),
      flag, el("span", {className: "spacer"}),
      el("button", {type: "button", className: "accept", textContent: "Accept", onclick: () => decide("accept")}),
      el("button", {type: "button", className: "reject", textContent: "Reject", onclick: () => decide("reject")}),
      el("button", {type: "button", className: "edit", textContent: "Edit", onclick: edit}));
    art.append(head, el("div", {className: "pair"}, body, el("div", {className: "src"}, ...renderSource(item.source))));
    return art;
  }

  async function loadFiles() {
    const data = await api("api/files");
    const select = form.elements.path;
    for (const p of data.paths) select.append(el("option", {value: p, textContent: p}));
  }

  // Keyboard: j/k move between records, a accept, r reject, e edit (not while typing).
  let current = -1;
  function select(i) {
    const cards = list.querySelectorAll("article");
    if (!cards.length) return;
    current = Math.max(0, Math.min(i, cards.length - 1));
    cards.forEach((c, n) => c.classList.toggle("current", n === current));
    cards[current].scrollIntoView({block: "nearest"});
  }
  document.addEventListener("keydown", ev => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const card = list.querySelectorAll("article")[current];
    const press = cls => card && card.querySelector("button." + cls).click();
    if (ev.key === "j") select(current + 1);
    else if (ev.key === "k") select(current - 1);
    else if (ev.key === "a") press("accept");
    else if (ev.key === "r") press("reject");
    else if (ev.key === "e") { press("edit"); ev.preventDefault(); }
  });

  list.addEventListener("pointerdown", () => { holding = true; });
  const release = () => {
    if (!holding) return;
    holding = false;
    if (deferred) { deferred = false; setTimeout(() => { offset = 0; load(); }, 0); }  // the click runs first
  };
  document.addEventListener("pointerup", release);
  document.addEventListener("pointercancel", release);
  // The search box reloads on input (debounced); its change event (fired on blur, e.g. by a
  // press on Reject) must not reload the list a second time under the pointer.
  form.addEventListener("change", ev => { if (ev.target !== form.elements.q) { offset = 0; load(); } });
  form.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; load(); }, 250); });
  document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - LIMIT); load(); };
  document.getElementById("next").onclick = () => { if (offset + LIMIT < total) { offset += LIMIT; load(); } };
  loadFiles().catch(e => { status.textContent = "error: " + e.message; });
  load();
})();
