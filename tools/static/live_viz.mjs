// Graphviz compiled to WebAssembly (@viz-js/viz), bundled by esbuild at build (Makefile) into live/viz.mjs:
// live.js draws with it the DOT that a cell's drawing writes (draw_dot, graphviz.Digraph).
export { instance } from "@viz-js/viz";
