// The live book (tools/live.py): a reader runs and edits a chapter's cells, edits the chunks of the
// book's own code, and runs the chapter's tests on the code as edited, all in the page and offline.
// * Python (Pyodide) runs in a Web Worker (live_worker.mjs), started by the first Run: the page answers
//   while a cell runs, and Stop ends the worker (a static site cannot interrupt it otherwise); the
//   cells above run again with the next Run, as after a restart of a notebook's kernel.
// * The editor is CodeMirror 6 (live/editor.mjs, bundled at build), loaded by the first Edit.
// * Edits are kept in the browser (localStorage) until Reset. One made before the book's code there
//   changed is flagged and not used unless the reader asks.
// * An edited chunk makes the page tangle the chapter's package again, in the worker, with the book's
//   own tangle code; its one-line error is shown at the chunk.
// * A cell tagged answer (an exercise's) has a Check button: it runs the exercise's test on what the cell defined.
"use strict";

(() => {
  const element = document.getElementById("live-data");
  if (!element) return;
  const data = JSON.parse(element.textContent);
  const base = new URL(".", document.baseURI);
  const url = (path) => new URL(path, base).href;
  const cells = data.cells.map((cell, index) => ({ ...cell, index, done: false }));
  const editables = []; // cells and listings that can be edited: {id, original, box, code, bar, editor, ...}

  // ------------------------------------------------------------ small helpers

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(text, title, onClick) {
    const node = make("button", "live-button", text);
    node.type = "button";
    node.title = title;
    node.addEventListener("click", onClick);
    return node;
  }

  // ------------------------------------------------------------ kept edits

  const store = {
    key: (id) => `live-edit:${location.pathname}:${id}`,
    get(id) {
      try { return JSON.parse(localStorage.getItem(this.key(id))); } catch { return null; }
    },
    set(id, original, text) {
      try { localStorage.setItem(this.key(id), JSON.stringify({ original, text })); } catch { /* full, or off */ }
    },
    drop(id) { try { localStorage.removeItem(this.key(id)); } catch { /* off */ } },
  };

  // ------------------------------------------------------------ the page's Python, in a worker

  let worker = null;
  let ready = null; // a promise: Python has started
  let applied = null; // the package the worker has: null for the book's, else the request it tangled
  let nextId = 0;
  const pending = new Map(); // message id -> resolve
  let progressShown = null; // where the progress of the current job is shown

  function startWorker() {
    worker = new Worker(url(data.worker), { type: "module" });
    worker.onmessage = ({ data: message }) => {
      if (message.type === "progress") return showProgress(message);
      pending.get(message.id)?.(message.reply);
      pending.delete(message.id);
    };
    worker.onerror = (event) => endWorker({ ok: false, parts: [["text", `The page's Python failed: ${event.message}`]] });
    applied = null;
    for (const cell of cells) cell.done = false;
    const absolute = Object.fromEntries(Object.entries(data.modules).map(([name, path]) => [name, url(path)]));
    ready = ask({
      type: "start", pyodide: url(data.pyodide), modules: absolute, folder: data.folder,
      package: data.package && url(data.package), wheels: data.wheels.start.map(url), tests: data.wheels.tests.map(url),
      book: JSON.stringify({ pieces: data.pieces, names: data.names, chapters: data.chapters }),
    });
    return ready;
  }

  function ask(message) {
    return new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      worker.postMessage({ ...message, id });
    });
  }

  function endWorker(reply) {
    worker?.terminate();
    worker = null;
    ready = null;
    for (const resolve of pending.values()) resolve(reply);
    pending.clear();
  }

  function showProgress({ what, loaded, total }) {
    if (!progressShown) return;
    const far = total ? ` ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB` : "";
    progressShown.textContent = `Loading ${what}…${far}`;
  }

  async function python() {
    const reply = await (ready ?? startWorker());
    if (!reply.ok) throw reply;
  }

  // ------------------------------------------------------------ jobs: one at a time, each can be stopped

  let queue = Promise.resolve();
  let current = null; // the job running now

  function job(owner, work, pressed = owner.run) {
    owner.state.textContent = "Waiting…";
    queue = queue.then(async () => {
      current = owner;
      progressShown = owner.state;
      owner.run.disabled = pressed.disabled = true;
      owner.stop.hidden = false;
      owner.state.textContent = worker ? "Running…" : "Starting Python…";
      const began = performance.now();
      try {
        await work();
        owner.state.textContent = owner.stopped ? "" : `Done in ${((performance.now() - began) / 1000).toFixed(1)} s`;
      } catch (reply) {
        owner.state.textContent = "";
        owner.show(reply.parts ? reply : { ok: false, parts: [["text", String(reply)]] });
      } finally {
        owner.run.disabled = pressed.disabled = false;
        owner.stop.hidden = true;
        if (pressed.dataset) pressed.dataset.runs = Number(pressed.dataset.runs ?? 0) + 1; // for the checks
        owner.stopped = false;
        current = progressShown = null;
      }
    });
    return queue;
  }

  function stop(owner) {
    if (current !== owner) return;
    owner.stopped = true;
    endWorker({ ok: false, stopped: true, parts: [["note", "Stopped. The page's Python was restarted: a web page "
      + "cannot interrupt it otherwise. The cells above run again with the next Run."]] });
  }

  // The package as the reader edited the chunks on this page (or the book's): tangled in the worker.
  async function usePackage(owner) {
    const edited = editables.filter((e) => e.listing && e.editedText() !== null);
    const request = edited.length ? JSON.stringify({
      pieces: data.pieces.map((piece) => {
        const mine = edited.find((e) => e.id === piece.id);
        return mine ? { ...piece, text: mine.editedText() } : piece;
      }),
      names: data.names, chapters: data.chapters,
    }) : null;
    for (const e of editables) if (e.listing) e.error.hidden = true;
    if (request === applied) return true;
    owner.state.textContent = "Tangling the chapter's code as you edited it…";
    const reply = await ask({ type: "package", request });
    if (reply.stopped) return false;
    if (!reply.ok && !reply.where) throw reply; // the page's Python failed: its own message
    if (!reply.ok) {
      showTangleError(reply, edited);
      owner.show({ ok: false, parts: [["text", `The chapter's code as you edited it does not tangle:\n${reply.error}`]] });
      return false;
    }
    applied = request;
    for (const cell of cells) cell.done = false;
    return true;
  }

  // A tangle error at a listing of this page: shown under it, the editor's cursor on its line.
  function showTangleError(reply, edited) {
    const [chapter, line] = [reply.where.replace(/:\d+$/, ""), Number(reply.where.split(":").pop())];
    const listings = [...edited, ...editables.filter((e) => e.listing && !edited.includes(e))];
    const at = listings.find((e) => e.piece.chapter === chapter && line >= e.piece.body_line
      && line < e.piece.body_line + e.text().split("\n").length);
    const target = at ?? edited[0];
    if (!target) return;
    const row = at ? ` (line ${line - at.piece.body_line + 1} of this listing)` : "";
    target.error.textContent = `${reply.error}${row}`;
    target.error.hidden = false;
    if (at && at.editor) at.editor.goto(line - at.piece.body_line + 1);
  }

  // ------------------------------------------------------------ editing

  let editorModule = null;

  async function edit(e, text = e.text()) {
    if (e.editor) return e.editor.focus();
    if (!ready && !e.kept) startWorker(); // a reader who edits will run: Python starts meanwhile
    editorModule ??= import(url(data.editor));
    const { createEditor } = await editorModule;
    if (e.editor) return e.editor.focus();
    const holder = make("div", "live-editor");
    e.code.hidden = true;
    e.code.after(holder);
    e.editor = createEditor(holder, text, {
      label: e.label, onRun: () => e.onRun(), onChange: () => changed(e),
    });
    e.editButton.hidden = true;
    changed(e);
    if (!e.kept) e.editor.focus();
  }

  function changed(e) {
    const edited = e.editedText();
    if (edited === null) store.drop(e.id); else store.set(e.id, e.original, edited);
    e.box.classList.toggle("live-edited", edited !== null);
    e.reset.hidden = edited === null && e.flag.hidden;
    e.badge.hidden = edited === null;
  }

  function reset(e) {
    store.drop(e.id);
    e.flag.hidden = true;
    if (e.editor) e.editor.text = e.original;
    if (e.error) e.error.hidden = true;
    changed(e);
  }

  // One editable thing: its bar of buttons goes after `after`; code is the element the editor replaces.
  function editable({ id, original, box, code, after, label, listing = false }) {
    const e = {
      id, original, box, code, label, listing, editor: null,
      text() { return this.editor ? this.editor.text : this.original; },
      editedText() { return this.editor && this.editor.text !== this.original ? this.editor.text : null; },
    };
    e.bar = make("div", "live-bar");
    e.editButton = button("Edit", `Edit this ${listing ? "listing of the book's code" : "cell"} here`, () => edit(e));
    e.reset = button("Reset", "Bring back the book's code (your edit is forgotten)", () => reset(e));
    e.reset.hidden = true;
    e.badge = make("span", "live-badge", "edited");
    e.badge.hidden = true;
    e.flag = make("div", "live-flag");
    e.flag.hidden = true;
    e.bar.append(e.editButton, e.reset, e.badge);
    after.after(e.bar);
    e.bar.after(e.flag);
    code.addEventListener("click", () => edit(e)); // a reader may simply click into the code
    const kept = store.get(id);
    if (kept && kept.original === original) {
      e.kept = true; // opened for the reader on load: no reason to start Python yet
      edit(e, kept.text).then(() => { e.kept = false; });
    } else if (kept) {
      // The book changed here since the edit: keep the edit, flag it, do not use it.
      e.flag.append(make("span", "", "The book's code here changed since you edited it. "
        + "Your edit is kept but not used: "),
      button("Use my edit", "Put your kept edit into the editor, over the book's new code", async () => {
        e.flag.hidden = true;
        await edit(e);
        e.editor.text = kept.text;
      }));
      e.flag.hidden = false;
      e.reset.hidden = false;
    }
    editables.push(e);
    return e;
  }

  // ------------------------------------------------------------ output

  function output(box, anchor, reply) {
    let out = box.querySelector(":scope > .live-output");
    if (!out) {
      out = make("div", "live-output");
      out.setAttribute("role", "status");
      const built = box.querySelector(":scope > .cell_output");
      if (anchor) anchor.after(out); // below the cell's buttons
      else if (built) built.before(out); // a cell whose code the page does not show: in its output's place
      else box.append(out);
    }
    out.replaceChildren();
    for (const [kind, text] of reply.parts) {
      if (kind === "dot") {
        out.append(draw(text));
      } else if (kind === "html") {
        const html = make("div", "live-html");
        html.innerHTML = text; // only display(HTML(...)) makes this part
        out.append(html);
      } else {
        out.append(make(kind === "note" ? "p" : "pre", kind === "note" ? "live-note" : "", text));
      }
    }
    if (!reply.parts.length) out.append(make("pre", "", "(no output)"));
    out.classList.toggle("live-error", !reply.ok && !reply.stopped);
    return out;
  }

  // A drawing's DOT, drawn by Graphviz compiled to WebAssembly (live/viz.mjs, loaded by the first drawing).
  let viz = null;
  function draw(dot) {
    const figure = make("div", "live-drawing", "Drawing…");
    viz ??= import(url(data.viz)).then(({ instance }) => instance());
    viz.then((graphviz) => figure.replaceChildren(graphviz.renderSVGElement(dot)))
      .catch((error) => { figure.textContent = `Graphviz could not draw this: ${error}`; });
    return figure;
  }

  // ------------------------------------------------------------ cells

  // The cells above that have not run, then cell: whether cell ran without an error.
  async function runThrough(cell) {
    await python();
    if (!(await usePackage(cell))) return false;
    for (const step of [...cells.slice(0, cell.index), cell]) {
      if (step !== cell && (step.done || step.setup || step.needs)) continue;
      if (step !== cell) cell.state.textContent = `Running the cells above (${step.where})…`;
      const reply = await ask({ type: "run", source: step.edit ? step.edit.text() : step.source });
      if (step.node) step.show(reply);
      if (reply.stopped) return cell.show(reply);
      step.done = true;
      if (step === cell) return reply.ok;
    }
  }

  const runCell = (cell) => job(cell, () => runThrough(cell));

  // An exercise's answer: run it, then the exercise's check (a test, tools/live.py) on what it defined.
  const checkAnswer = (cell) => job(cell, async () => {
    if (!(await runThrough(cell))) return;
    cell.state.textContent = "Checking your answer…";
    withSummary(output(cell.node, cell.bar, await ask({ type: "check", source: data.checks, name: cell.check })));
  }, cell.checkButton);

  // pytest's last line ("1 failed in 0.52s"), put first.
  function withSummary(out) {
    const lines = out.textContent.trim().split("\n").reverse();
    const summary = lines.find((line) => /\d+ (passed|failed|errors?)\b/.test(line));
    if (summary) out.prepend(make("p", "live-summary", summary.replace(/^=+ | =+$/g, "")));
  }

  for (const cell of cells) {
    cell.node = document.querySelector(`.live-cell-${cell.index}`);
    cell.show = (reply) => {
      if (!cell.node) return;
      const built = cell.node.querySelector(":scope > .cell_output");
      if (built) built.hidden = true; // the page's output replaces the build's
      output(cell.node, cell.bar, reply);
    };
    const input = cell.node && cell.node.querySelector(".cell_input");
    if (!input) continue; // hidden, or only its output is shown
    if (cell.needs) {
      cell.bar = make("div", "live-bar");
      const label = button(`Needs ${cell.needs}: not in the page's Python`,
        "Run this cell with the book's code on your machine (the chapter's zip)", () => {});
      label.disabled = true;
      label.classList.add("live-run");
      cell.bar.append(label);
      input.after(cell.bar);
      continue;
    }
    const code = input.querySelector("div.highlight") || input.querySelector("pre");
    cell.edit = editable({ id: `cell-${cell.index}`, original: cell.source, box: cell.node, code, after: input,
      label: `Code cell at ${cell.where}` });
    cell.edit.onRun = () => runCell(cell);
    cell.bar = cell.edit.bar;
    cell.run = button("Run", "Run this cell, and the ones above it, in the page (Shift+Enter in the editor)",
      () => runCell(cell));
    cell.run.classList.add("live-run");
    cell.stop = button("Stop", "Stop the running cell", () => stop(cell));
    cell.stop.hidden = true;
    cell.state = make("span", "live-state");
    cell.state.setAttribute("role", "status");
    cell.bar.prepend(cell.run, cell.stop);
    if (cell.check) {
      cell.checkButton = button("Check", "Check your answer: run this exercise's test on what this cell defines",
        () => checkAnswer(cell));
      cell.stop.after(cell.checkButton);
    }
    cell.bar.append(cell.state);
  }

  // ------------------------------------------------------------ the chapter's own chunks

  for (const piece of data.pieces.filter((p) => p.chapter === data.chapter)) listing(piece, document.getElementById(piece.id));
  function listing(piece, box) {
    const code = box && box.querySelector("div.highlight");
    if (!code) return;
    const e = editable({ id: piece.id, original: piece.text, box, code, after: box, listing: true,
      label: `The book's code: «${piece.name}»` });
    e.piece = piece;
    e.error = make("p", "live-tangle-error");
    e.error.setAttribute("role", "alert");
    e.error.hidden = true;
    e.flag.after(e.error);
    e.onRun = () => checkTangle(e);
  }

  // Shift+Enter in a listing: tangle the package with the edit now, to see any error at once.
  const tangleOwner = { state: make("span"), run: {}, stop: {}, show: () => {} };
  function checkTangle(e) {
    tangleOwner.state = e.bar.querySelector(".live-state") ?? e.bar.appendChild(make("span", "live-state"));
    return job(tangleOwner, async () => {
      await python();
      if (await usePackage(tangleOwner)) tangleOwner.state.textContent = "The page's package has your edit.";
    });
  }

  // ------------------------------------------------------------ the page's bar: tests, reset all

  const pageBar = make("div", "live-page");
  const tests = {
    run: button("Run this chapter's tests", "Run the chapter's tests (those in its zip) on the page's package, "
      + "with your edits to its chunks", () => runTests()),
    stop: button("Stop", "Stop the tests", () => stop(tests)),
    state: make("span", "live-state"),
    show(reply) {
      withSummary(output(pageBar, pageBar.lastElementChild, reply));
    },
  };
  tests.state.setAttribute("role", "status");
  tests.stop.hidden = true;
  function runTests() {
    return job(tests, async () => {
      await python();
      if (!(await usePackage(tests))) return;
      tests.show(await ask({ type: "tests" }));
    });
  }
  const resetAll = button("Reset all", "Forget every edit on this page: the cells and the book's code come back", () => {
    for (const e of editables) reset(e);
  });
  if (data.package && data.wheels.tests.length) pageBar.append(tests.run, tests.stop);
  pageBar.append(resetAll, tests.state);
  const takeaway = document.querySelector(".live-takeaway");
  (takeaway ?? document.querySelector("main h1, article h1, h1"))?.after(pageBar);

  // ------------------------------------------------------------ the backward stepper (stepper.js), on cells tagged stepper
  const stepped = cells.filter((cell) => cell.stepper && cell.run);
  if (stepped.length) import(url(data.stepper)).then(({ attach }) => stepped.forEach((cell) => attach(cell,
    { runCell, job, ask, draw, make, button, listing, store, pieces: data.pieces, chapter: data.chapter })));
})();
