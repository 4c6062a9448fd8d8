// The live book (tools/live.py): every code cell of a chapter page can be changed and run in the page.
// Pyodide is served with the site and starts on the first press of a Run button; the chapter's own
// package (its take-away zip) is unpacked into it. The page's cells share one namespace, and pressing
// Run on a cell first runs the cells above it that have not run yet, hidden ones included, as the
// book's build did.
"use strict";

(() => {
  const element = document.getElementById("live-data");
  if (!element) return;
  const data = JSON.parse(element.textContent);
  const base = new URL(".", document.baseURI);
  const cells = data.cells.map((cell, index) => ({ ...cell, index, done: false }));
  let python = null; // a promise of the runner, once started
  let queue = Promise.resolve(); // runs happen one at a time, in the order they were asked for

  function start() {
    python ??= (async () => {
      const indexURL = new URL(data.pyodide, base).href;
      const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
      const pyodide = await loadPyodide({ indexURL });
      const runner = await (await fetch(new URL(data.runner, base))).text();
      pyodide.FS.writeFile("/home/pyodide/live_runner.py", runner);
      pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
      const live = pyodide.pyimport("live_runner");
      live.install_glue_stub();
      if (data.package) {
        const zip = await (await fetch(new URL(data.package, base))).arrayBuffer();
        pyodide.unpackArchive(zip, "zip", { extractDir: "/home/pyodide/chapter" });
        live.use_package(`/home/pyodide/chapter/${data.folder}`);
      }
      return live;
    })();
    return python;
  }

  function show(cell, text, ok) {
    const box = cell.node;
    if (!box) return;
    let output = box.querySelector(":scope > .live-output");
    if (!output) {
      output = document.createElement("pre");
      output.className = "live-output";
      const built = box.querySelector(":scope > .cell_output");
      box.insertBefore(output, built);
      if (built) built.hidden = true; // the page's output replaces the build's
    }
    output.textContent = text || "(no output)";
    output.classList.toggle("live-error", !ok);
  }

  function runOne(live, cell, source) {
    const result = live.run(source);
    const [text, ok] = result.toJs();
    result.destroy();
    cell.done = true;
    show(cell, text, ok);
  }

  function sourceOf(cell) {
    const code = cell.node && cell.node.querySelector(".cell_input pre");
    return code ? code.innerText.replace(/\n$/, "") : cell.source;
  }

  function run(cell) {
    queue = queue.then(async () => {
      const button = cell.button;
      button.disabled = true;
      button.textContent = python ? "Running…" : "Starting Python…";
      try {
        const live = await start();
        button.textContent = "Running…";
        await new Promise((resolve) => setTimeout(resolve, 0)); // let the label show
        for (const earlier of cells.slice(0, cell.index)) {
          if (!earlier.done && !earlier.setup && !earlier.needs) runOne(live, earlier, sourceOf(earlier));
        }
        runOne(live, cell, sourceOf(cell));
        button.textContent = "Run again";
      } catch (error) {
        show(cell, `The page's Python could not start: ${error}`, false);
        button.textContent = "Run";
      } finally {
        button.disabled = false;
      }
    });
    return queue;
  }

  for (const cell of cells) {
    cell.node = document.querySelector(`.live-cell-${cell.index}`);
    const input = cell.node && cell.node.querySelector(".cell_input");
    if (!input) continue; // hidden, or only its output is shown
    const bar = document.createElement("div");
    bar.className = "live-bar";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "live-run";
    cell.button = button;
    if (cell.needs) {
      button.disabled = true;
      button.textContent = `Needs ${cell.needs}: not in the page's Python`;
      button.title = "Run this cell with the book's code on your machine (the chapter's zip)";
    } else {
      button.textContent = "Run";
      button.title = "Run this cell, and the ones above it, in the page (edit the code first if you like; Shift+Enter runs)";
      button.addEventListener("click", () => run(cell));
      const code = input.querySelector("pre");
      code.contentEditable = "plaintext-only";
      code.spellcheck = false;
      code.classList.add("live-editable");
      code.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && event.shiftKey) { // as in a notebook
          event.preventDefault();
          run(cell);
        }
      });
    }
    bar.appendChild(button);
    input.after(bar);
  }
})();
