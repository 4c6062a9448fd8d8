// The page's Python, in a Web Worker so that the page answers while a cell runs (tools/static/live.js
// starts it, and ends it to stop a cell).
// Messages in: {id, type: "start" | "run" | "package" | "tests" | "check", ...};
// out: {type: "progress", what, loaded, total} while files load, then {id, reply} for each message.
// Messages are handled one at a time, in order.

const HOME = "/home/pyodide";
let pyodide, live, settings, testsLoaded = false;
let chain = Promise.resolve();

onmessage = ({ data: message }) => {
  chain = chain.then(() => handle(message)).then(
    (reply) => postMessage({ id: message.id, reply }),
    (error) => postMessage({ id: message.id, reply: { ok: false, parts: [["text", String(error)]] } }));
};

// fetch, telling the page how much of each file has come in (loadPyodide fetches through it too).
const plainFetch = globalThis.fetch;
globalThis.fetch = async (url, options) => {
  const response = await plainFetch(url, options);
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body || total < 200_000) return response;
  const what = String(url).split("/").pop();
  let loaded = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      postMessage({ type: "progress", what, loaded: Math.min(loaded, total), total });
      controller.enqueue(chunk);
    },
  }));
  return new Response(counted, { status: response.status, headers: response.headers });
};

async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.arrayBuffer();
}

async function text(url) {
  return new TextDecoder().decode(await bytes(url));
}

function say(what) {
  postMessage({ type: "progress", what });
}

async function start(message) {
  settings = message;
  // The small files come in while Python starts.
  const modules = Promise.all(Object.entries(settings.modules).map(async ([name, url]) => [name, await text(url)]));
  const zip = settings.package ? bytes(settings.package) : null;
  say("Python (Pyodide)");
  const { loadPyodide } = await import(new URL("pyodide.mjs", settings.pyodide).href);
  pyodide = await loadPyodide({ indexURL: settings.pyodide });
  say("the chapter's package");
  // The runner and the book's tools it uses, under lib/tools; booktrace where book_tracebacks looks for it.
  for (const [name, source] of await modules) {
    pyodide.FS.mkdirTree(`${HOME}/lib/${name}`.replace(/\/[^/]*$/, ""));
    pyodide.FS.writeFile(`${HOME}/lib/${name}`, source);
  }
  pyodide.runPython(`import sys; sys.path.insert(0, "${HOME}/lib/tools")`);
  await unpackWheels(settings.wheels); // graphviz: cells draw with it
  live = pyodide.pyimport("live_runner");
  live.install_stubs();
  live.install_snapshots(settings.book);
  if (zip) {
    settings.zip = await zip;
    unpackPackage();
  }
  return { ok: true };
}

function unpackPackage() {
  pyodide.unpackArchive(settings.zip, "zip", { extractDir: `${HOME}/chapter` });
  live.use_package(`${HOME}/chapter/${settings.folder}`);
  live.reset();
}

async function unpackWheels(wheels) {
  const site = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  for (const wheel of wheels) {
    say(wheel.split("/").pop());
    pyodide.unpackArchive(await bytes(wheel), "wheel", { extractDir: site });
  }
  pyodide.runPython("import importlib; importlib.invalidate_caches()");
}

async function loadTests() {
  if (testsLoaded) return;
  await unpackWheels(settings.tests); // pytest and hypothesis
  testsLoaded = true;
}

async function handle(message) {
  if (message.type === "start") return start(message);
  if (message.type === "run") return JSON.parse(live.run_json(message.source));
  if (message.type === "package") {
    // The package as the reader edited it (message.request), or the book's own (null).
    if (message.request === null) {
      unpackPackage();
      return { ok: true };
    }
    return JSON.parse(live.retangle(message.request, `${HOME}/chapter/${settings.folder}`));
  }
  if (message.type === "tests") {
    await loadTests();
    say("running the chapter's tests");
    return JSON.parse(live.run_tests(`${HOME}/chapter/${settings.folder}`));
  }
  if (message.type === "check") {
    await loadTests();
    say("checking your answer");
    return JSON.parse(live.check(message.source, message.name));
  }
  throw new Error(`unknown message ${message.type}`);
}
