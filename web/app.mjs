// The about:inference page: a thin UI over engine.mjs.
import { createEngine, deleteModels, listEngines, listModels } from "./engine.mjs";

window.createEngine = createEngine;
const $ = (id) => document.getElementById(id);
const bars = new Map();
const featureTasks = new Map();
let droppedFile = null;
// Tasks whose input can be a dropped or picked file, and the media type that file must have.
// Tasks that read a file: the drop zone shows for them and a dropped file of that kind is their args[0].
const FILE_TASKS = {
  "image-to-text": "image/", "image-classification": "image/", "zero-shot-image-classification": "image/",
  "object-detection": "image/", "image-feature-extraction": "image/", "automatic-speech-recognition": "audio/",
};

$("isolation").textContent = crossOriginIsolated
  ? "Cross-origin isolated: ONNX Runtime can use threads."
  : "Not cross-origin isolated: ONNX Runtime runs on one thread.";

const megabytes = (n) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);

function onProgress(p) {
  if (p.type === "running_inference") return;
  let row = bars.get(p.id);
  if (!row) {
    row = document.createElement("div");
    row.className = "download";
    row.innerHTML = "<progress max='100'></progress> <span></span>";
    $("downloads").append(row);
    bars.set(p.id, row);
  }
  const [bar, label] = row.children;
  const verb = p.type === "loading_from_cache" ? "from cache" : "downloading";
  if (p.statusText === "done") bar.value = 100;
  else if (p.progress != null) bar.value = p.progress;
  row.classList.toggle("failed", !p.ok);
  label.textContent = `${p.metadata.file} — ${verb}${p.total ? `, ${megabytes(p.total)}` : ""}${p.ok ? "" : " (failed)"}`;
}

// A JSON array is the request's args (e.g. ["question", "context"] or ["text", ["label", ...]]); anything else is one text.
function requestArgs(text) {
  if (text.trim().startsWith("[")) {
    try { return JSON.parse(text); } catch { /* a text that happens to start with a bracket */ }
  }
  return [text];
}

async function refreshModels() {
  const body = $("models").querySelector("tbody");
  body.replaceChildren();
  for (const m of await listModels()) {
    const tr = document.createElement("tr");
    for (const text of [m.name, m.revision, m.taskNames.join(", "), m.files, megabytes(m.size)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const button = document.createElement("button");
    button.textContent = "Delete";
    button.className = "delete";
    button.onclick = async () => { await deleteModels({ model: m.name, revision: m.revision }); await refreshModels(); };
    const cell = document.createElement("td");
    cell.append(button);
    tr.append(cell);
    body.append(tr);
  }
  const engines = $("engines").querySelector("tbody");
  engines.replaceChildren();
  for (const e of await listEngines()) {
    const tr = document.createElement("tr");
    for (const text of [e.engineId, e.status, e.taskName, e.modelId, e.dtype]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    engines.append(tr);
  }
}

const selectedTask = () => featureTasks.get($("feature").value) ?? $("task").value;

// Run options that suit each task, filled in when the task changes (any JSON can be typed instead).
const TASK_OPTIONS = {
  "feature-extraction": { pooling: "mean", normalize: true }, "text-generation": { max_new_tokens: 30 },
  "image-to-text": { max_new_tokens: 20 }, "automatic-speech-recognition": { return_timestamps: true }, "text2text-generation": { max_new_tokens: 30 },
  "summarization": { max_new_tokens: 30 }, "translation": { max_new_tokens: 30 },
  "zero-shot-classification": { candidate_labels: ["browser", "privacy", "cooking"] },
  "zero-shot-image-classification": { candidate_labels: ["a cat", "a dog", "a landscape"] },
  "object-detection": { threshold: 0.5 }, "image-feature-extraction": { pool: true },
};

function showDropZone() {
  const kind = FILE_TASKS[selectedTask()];
  $("drop").hidden = !kind;
  if (kind) {
    $("image").accept = `${kind}*`;
    $("drop-kind").textContent = kind === "audio/" ? "a WAV file" : "an image";
  }
  $("run-options").value = JSON.stringify(TASK_OPTIONS[selectedTask()] ?? {});
}

function takeFile(file) {
  if (!file || !file.type.startsWith(FILE_TASKS[selectedTask()] ?? "-")) return;
  droppedFile = file;
  $("preview").hidden = !file.type.startsWith("image/");
  if (!$("preview").hidden) $("preview").src = URL.createObjectURL(file);
  $("drop-name").textContent = file.name;
}

async function loadFeatures() {
  const records = (await (await fetch("settings/ml-inference-options.json")).json()).data;
  for (const r of records.filter((r) => r.featureId)) {
    featureTasks.set(r.featureId, r.taskName);
    $("feature").append(new Option(`${r.featureId} (${r.taskName}, ${r.modelId})`, r.featureId));
  }
}

$("run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("run").disabled = true;
  $("result").textContent = "";
  $("downloads").replaceChildren();
  bars.clear();
  try {
    const feature = $("feature").value;
    const options = feature || {
      taskName: $("task").value, modelId: $("model").value, modelRevision: $("revision").value, dtype: $("dtype").value,
    };
    $("status").textContent = "Starting the engine…";
    const started = performance.now();
    const engine = await createEngine(options, onProgress);
    $("status").textContent = `Engine ready in ${Math.round(performance.now() - started)} ms; running…`;
    const t0 = performance.now();
    const runOptions = $("run-options").value.trim() ? JSON.parse($("run-options").value) : {};
    const kind = FILE_TASKS[selectedTask()];
    const args = droppedFile && kind && droppedFile.type.startsWith(kind) ? [droppedFile] : requestArgs($("input").value);
    let result = null;
    let streamed = "";
    for await (const piece of engine.runWithGenerator({ args, options: runOptions })) {
      if ("output" in piece) result = piece.output;
      else $("result").textContent = (streamed += piece.text);
    }
    const shape = [];
    for (let v = result; Array.isArray(v); v = v[0]) shape.push(v.length);
    $("status").textContent = `Done in ${Math.round(performance.now() - t0)} ms.` +
      (shape.length > 1 ? ` Shape ${shape.join(" × ")}.` : "");
    const text = JSON.stringify(result);
    $("result").textContent = text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text;
    $("result").dataset.ready = "true";
  } catch (error) {
    $("status").textContent = `${error.name}: ${error.message}`;
    $("result").dataset.ready = "error";
  } finally {
    $("run").disabled = false;
    await refreshModels();
  }
});

$("refresh").onclick = refreshModels;
$("feature").onchange = () => { $("custom").disabled = Boolean($("feature").value); showDropZone(); };
$("task").oninput = showDropZone;
$("image").onchange = () => takeFile($("image").files[0]);
$("drop").ondragover = (event) => { event.preventDefault(); $("drop").classList.add("over"); };
$("drop").ondragleave = () => $("drop").classList.remove("over");
$("drop").ondrop = (event) => { event.preventDefault(); $("drop").classList.remove("over"); takeFile(event.dataTransfer.files[0]); };
await loadFeatures();
$("feature").value = "sentence-embeddings";
$("custom").disabled = true;
await refreshModels();
document.body.dataset.ready = "true";
