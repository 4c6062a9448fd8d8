// The backward stepper (tools/static/stepper.py records, this shows): on a cell tagged `stepper`, the reader
// steps through the backward() that the cell calls, on the page's own engine, as edited. Each step draws
// the graph (Graphviz, through live.js's draw) with the node whose rule runs highlighted and every grad,
// and says in a line of text (a live region) what the rule changed, and what is wrong if it ran too early.
// live.js loads this module and hands it its own helpers: attach(cell, live).

const STYLE = new URL("stepper.css", import.meta.url).href;

const number = (x) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));
const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// DOT for one step: every node with its data and grad; the node whose rule ran is filled, changed grads bold.
export function dot(recording, at) {
  const step = recording.steps[at];
  const before = recording.steps[Math.max(at - 1, 0)].grads;
  const lines = ['digraph { rankdir=BT; bgcolor="white"; nodesep=0.3; ranksep=0.35;',
    'node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=12];'];
  recording.nodes.forEach((node, n) => {
    const changed = at > 0 && step.grads[n] !== before[n];
    const grad = changed ? `<b>grad ${number(step.grads[n])}</b>` : `grad ${number(step.grads[n])}`;
    const made = node.op ? ` = ${escape(node.op)}` : "";
    const current = step.node === n;
    const fill = current ? (step.flag ? "#f8d0c8" : "#ffe9a8") : "white";
    const pen = current ? ', penwidth=3, color="#8a5a00"' : "";
    lines.push(`n${n} [label=<<b>${escape(node.name)}</b>${made}<br/>data ${number(node.data)}<br/>${grad}>, `
      + `fillcolor="${fill}"${pen}];`);
    for (const child of node.children) lines.push(`n${child} -> n${n};`);
  });
  lines.push("}");
  return lines.join("\n");
}

// The line a screen reader hears, and everyone reads, for one step.
export function describe(recording, at) {
  const { nodes, steps } = recording;
  const step = steps[at];
  const last = steps.length - 1;
  if (at === 0) {
    return `Before backward(): every grad is ${[...new Set(step.grads.map(number))].join(" or ")}. `
      + `${last} steps follow.`;
  }
  const before = steps[at - 1].grads;
  const changes = step.grads.map((grad, n) => (grad !== before[n]
    ? `${nodes[n].name}.grad ${number(before[n])} → ${number(grad)}` : null)).filter(Boolean);
  const who = step.node === null ? "backward() itself"
    : `${nodes[step.node].name}'s rule${nodes[step.node].children.length ? "" : " (a leaf: nothing to pass on)"}`;
  let text = `Step ${at} of ${last}: ${who} ${changes.length ? `sets ${changes.join(", ")}` : "changes no grad"}.`;
  if (step.flag) text += ` Wrong order: ${step.flag}.`;
  if (at === last) {
    const never = recording.never.length ? ` The rule of ${recording.never.join(", ")} never ran.` : "";
    text += ` Done: ${nodes.map((node, n) => `${node.name}.grad = ${number(step.grads[n])}`).join(", ")}.${never}`;
  }
  return text;
}

// The book's listing that holds a chapter's line (the chunk block it falls in), or undefined.
function pieceAt(pieces, where) {
  const [chapter, line] = [where.replace(/:\d+$/, ""), Number(where.split(":").pop())];
  return pieces.filter((p) => p.chapter === chapter && p.body_line <= line)
    .sort((p, q) => q.body_line - p.body_line)[0];
}

export function attach(cell, live) {
  if (!document.querySelector(`link[href="${STYLE}"]`)) {
    document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: STYLE }));
  }
  const { make, button } = live;
  const panel = make("section", "stepper");
  panel.setAttribute("aria-label", "Step through backward()");
  const heading = make("p", "stepper-heading", "Step through backward() on this page's code:");
  const controls = make("div", "live-bar");
  const state = make("span", "live-state");
  state.setAttribute("role", "status");
  const picture = make("div", "stepper-picture");
  const said = make("p", "stepper-said");
  said.setAttribute("aria-live", "polite");
  said.tabIndex = -1;
  const listings = make("details", "stepper-listings");
  listings.append(make("summary", "", "The rules this graph runs, from earlier chapters: edit them here"));
  listings.hidden = true;
  let recording = null;
  let at = 0;

  function show() {
    picture.replaceChildren(live.draw(dot(recording, at)));
    picture.querySelector(".live-drawing")?.setAttribute("aria-hidden", "true"); // the text below says it
    said.textContent = describe(recording, at);
    said.classList.toggle("stepper-wrong", Boolean(recording.steps[at].flag));
    panel.dataset.step = String(at); // for the reader checks
  }

  // Run the cell (and those above) on the page's package as edited, then record its backward() again.
  let busy = false;
  async function start() {
    if (busy) return;
    busy = true;
    recording = null;
    said.textContent = "Running the cell, and recording its backward()…";
    try {
      await live.runCell(cell);
      if (cell.node.querySelector(":scope > .live-output.live-error")) {
        said.textContent = "The cell did not run (its output above says why): there is nothing to step through.";
        return;
      }
      let reply = null;
      const owner = { state, run: {}, stop: {}, show: (r) => { said.textContent = r.parts.map(([, t]) => t).join(""); } };
      await live.job(owner, async () => {
        reply = await live.ask({ type: "run",
          source: `print(__import__("stepper").record_cell(${JSON.stringify(cell.edit.text())}, globals()))` });
      });
      if (!reply || !reply.ok) return reply && owner.show(reply);
      recording = JSON.parse(reply.parts.find(([kind]) => kind === "text")[1]);
      at = 0;
      offerRules();
      show();
    } finally {
      busy = false;
    }
  }

  // The listings, from earlier chapters, of the rules this graph runs: editable here, as the page's own.
  function offerRules() {
    for (const where of new Set(recording.nodes.map((node) => node.rule).filter(Boolean))) {
      const piece = pieceAt(live.pieces, where);
      if (piece && piece.chapter !== live.chapter) offer(piece);
    }
  }

  function offer(piece) {
    listings.hidden = false;
    if (listings.querySelector(`[data-piece="${piece.id}"]`)) return;
    const box = make("div", "stepper-listing");
    box.dataset.piece = piece.id;
    const code = make("div", "highlight");
    const pre = make("pre", "", piece.text);
    pre.tabIndex = 0; // a long line can be scrolled from the keyboard, as on the book's own listings
    code.append(pre);
    box.append(make("p", "stepper-caption", `The rule comes from «${piece.name}», in ${piece.chapter.replace(/^book\//, "")}:`), code);
    listings.append(box);
    live.listing(piece, box);
  }

  async function move(by) {
    if (!recording || by === 0) return start();
    const next = Math.min(Math.max(at + by, 0), recording.steps.length - 1);
    if (next === at) {
      said.textContent = `${describe(recording, at)} ${by > 0 ? "That was the last step." : ""}`.trim();
      return;
    }
    at = next;
    show();
  }

  const step = button("Step", "Run the next rule of backward() (Right arrow)", () => move(1));
  const back = button("Back", "Go back one step (Left arrow)", () => move(-1));
  const restart = button("Start over", "Run backward() again on this page's code as it is now (Home)",
    () => move(0));
  controls.append(step, back, restart, state);
  panel.addEventListener("keydown", (event) => {
    const by = { ArrowRight: 1, ArrowLeft: -1, Home: 0 }[event.key];
    if (by === undefined || event.target.closest(".stepper-listings")) return;
    event.preventDefault();
    move(by);
  });
  panel.append(heading, controls, said, picture, listings);
  cell.node.append(panel);
  // A rule's listing the reader edited before a reload is offered at once, so the first step uses the edit.
  for (const piece of live.pieces.filter((p) => p.chapter !== live.chapter && live.store.get(p.id))) {
    offer(piece);
    listings.open = true;
  }
}
