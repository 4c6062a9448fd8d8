// The live book's editor: CodeMirror 6, bundled by esbuild at build (Makefile) into live/editor.mjs.
// live.js imports it the first time a reader edits a cell or a chunk.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { oneDark } from "@codemirror/theme-one-dark";

// An editor in place of parent's contents: Tab indents (Escape, then Tab, leaves it, as CodeMirror
// documents), Shift+Enter calls onRun, every change calls onChange with the whole text.
export function createEditor(parent, text, { onRun, onChange, label }) {
  const dark = document.documentElement.dataset.theme === "dark";
  const view = new EditorView({
    doc: text,
    parent,
    extensions: [
      basicSetup,
      python(),
      keymap.of([indentWithTab]),
      Prec.highest(keymap.of([{ key: "Shift-Enter", run: () => { onRun?.(); return true; } }])),
      EditorView.updateListener.of((update) => { if (update.docChanged) onChange?.(view.state.doc.toString()); }),
      EditorView.contentAttributes.of({ "aria-label": label }),
      ...(dark ? [oneDark] : []),
    ],
  });
  return {
    view,
    get text() { return view.state.doc.toString(); },
    set text(value) { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } }); },
    focus() { view.focus(); },
    // Put the cursor on line (1-based) and scroll to it: where an error points.
    goto(line) {
      const at = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
      view.dispatch({ selection: { anchor: at.from }, scrollIntoView: true });
    },
  };
}
