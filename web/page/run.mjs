// Run: pick a preset (a settings record with a featureId, or a task's example from the task table), see
// and change every engine option as the engine will really use it, run N times, watch downloads and
// streamed text, cancel, and read the result rendered for its task.
import { createEngine, hubDtypes, resolveOptions } from "../engine.mjs";
import { absolute, catalog } from "./catalog.mjs";
import { render } from "./render.mjs";
import { $, bytes, describeError, el, ms, quantile } from "./ui.mjs";

let info = null;
let featureId = null;  // the preset's featureId, sent with the fields (its record supplies the hub and the rest)
const files = new Map();  // an input widget's index -> the File dropped or picked for it
let controller = null;

const task = () => info.tasks.get($("task").value);

function engineOptions() {
  const options = {
    taskName: $("task").value, modelId: $("model").value.trim(), modelRevision: $("revision").value.trim() || "main",
    dtype: $("dtype").value, device: $("device").value, numThreads: Number($("threads").value || 0),
    timeoutMS: Number($("timeout").value), engineId: $("engine-id").value.trim() || "default-engine",
  };
  return featureId ? { featureId, ...options } : options;
}

// The form: one widget per declared input of the task (tasks.py `form`), filled from its example.
function buildInputs() {
  const { form, example } = task();
  files.clear();
  const box = $("inputs");
  box.replaceChildren(el("legend", {}, `Input — ${task().inputs.replace(/`/g, "")}`));
  form.forEach((kind, i) => {
    const value = example.args?.[i];
    if (kind === "text") box.append(el("label", {}, `Text ${form.length > 1 ? i + 1 : ""}`, el("textarea", { id: `arg-${i}`, rows: 3, cols: 60, value: value ?? "" })));
    if (kind === "prompt") {  // a prompt, or one user message of a chat (rendered by the model's chat template)
      const chat = Array.isArray(value);
      box.append(el("label", {}, "Prompt", el("textarea", { id: `arg-${i}`, rows: 3, cols: 60, value: chat ? value.at(-1).content : value ?? "" })),
                 el("label", {}, el("input", { type: "checkbox", id: `arg-${i}-chat`, checked: chat }), " as a chat message"));
    }
    if (kind === "texts") box.append(el("label", {}, "Texts (one per line)", el("textarea", { id: `arg-${i}`, rows: 4, cols: 60, value: (value ?? []).join("\n") })));
    if (kind === "labels") box.append(el("label", {}, "Labels (comma separated)", el("input", { id: `arg-${i}`, size: 50, value: (value ?? []).join(", ") })));
    if (kind === "image" || kind === "audio") box.append(mediaInput(kind, i, value));
  });
}

function mediaInput(kind, i, value) {
  const url = el("input", { id: `arg-${i}`, type: "url", size: 50, value: value ? absolute(value) : "" });
  const picker = el("input", { type: "file", accept: `${kind}/*`, id: kind });
  const preview = kind === "image" ? el("img", { id: "preview", alt: "", src: url.value }) : el("audio", { controls: true, src: url.value });
  const take = (file) => {
    if (!file || !file.type.startsWith(`${kind}/`)) return;
    files.set(i, file);
    preview.src = URL.createObjectURL(file);
    url.value = "";
  };
  url.oninput = () => { files.delete(i); preview.src = url.value; };
  picker.onchange = () => take(picker.files[0]);
  const zone = el("div", { className: "drop", id: kind === "image" ? "drop" : `drop-${kind}`, tabIndex: -1 },
    el("label", {}, `${kind === "image" ? "Image" : "Audio"} URL `, url), el("div", {}, `or drop a file here, or pick one: `, picker), preview);
  zone.ondragover = (event) => { event.preventDefault(); zone.classList.add("over"); };
  zone.ondragleave = () => zone.classList.remove("over");
  zone.ondrop = (event) => { event.preventDefault(); zone.classList.remove("over"); take(event.dataTransfer.files[0]); };
  return zone;
}

function requestArgs() {
  return task().form.map((kind, i) => {
    const value = $(`arg-${i}`).value;
    if (kind === "prompt" && $(`arg-${i}-chat`).checked) return [{ role: "user", content: value }];
    if (kind === "texts") return value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (kind === "labels") return value.split(",").map((s) => s.trim()).filter(Boolean);
    if (kind === "image" || kind === "audio") return files.get(i) ?? value.trim();
    return value;
  });
}

function optionHelp() {
  $("option-help").querySelector("dl").replaceChildren(...Object.entries(task().options).flatMap(([name, rule]) =>
    [el("dt", {}, name), el("dd", {}, rule.describe)]));
}

async function refreshDtypes(shown) {
  const select = $("dtype");
  let found = [];
  try {
    found = await hubDtypes(engineOptions());
    $("dtype-note").textContent = `The hub folder has ${found.join(", ") || "no ONNX file for any dtype"}.`;
  } catch (error) {
    $("dtype-note").textContent = `Could not ask the hub for its dtypes: ${describeError(error)}`;
  }
  const names = found.includes(shown) || !shown ? found : [...found, shown];
  select.replaceChildren(...names.map((d) => new Option(found.includes(d) ? d : `${d} (not on the hub)`, d)));
  select.value = shown && names.includes(shown) ? shown : names[0] ?? "";
}

// The fields show what the engine will really use: the options resolved in the engine host (settings record
// under the caller's fields), never defaults guessed here.
async function choosePreset() {
  const value = $("feature").value;
  delete $("run-form").dataset.preset;
  const [kind, name] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
  featureId = kind === "feature" ? name : null;
  const asked = featureId ? { featureId } : { taskName: name };
  try {
    const { options, notes } = await resolveOptions(asked);
    $("task").value = options.taskName;
    $("model").value = options.modelId ?? "";
    $("revision").value = options.modelRevision;
    $("device").value = options.device;
    $("threads").value = options.numThreads;
    $("timeout").value = options.timeoutMS;
    $("engine-id").value = options.engineId;
    const record = info.presets.find((r) => r.featureId === featureId);
    $("preset-info").textContent = [record?.description, ...notes].filter(Boolean).join(" ");
    buildInputs();
    $("run-options").value = JSON.stringify(task().example.options ?? {});
    optionHelp();
    await refreshDtypes(options.dtype);
  } catch (error) {
    $("status").textContent = describeError(error);
    $("status").className = "error";
  }
  $("run-form").dataset.preset = value;  // the fields are filled (tests wait for this)
}

function onProgress(p) {
  if (p.type === "running_inference") return;
  let line = $("downloads").querySelector(`[data-id="${CSS.escape(p.id)}"]`);
  if (!line) {
    line = el("div", { className: "download", dataset: { id: p.id, started: String(performance.now()) } },
              el("progress", { max: 100 }), el("span", {}));
    $("downloads").append(line);
  }
  const [bar, label] = line.children;
  const seconds = (performance.now() - Number(line.dataset.started)) / 1000;
  if (p.statusText === "done") bar.value = 100;
  else if (p.progress != null) bar.value = p.progress;
  const loaded = p.totalLoaded ?? 0;
  const speed = p.type === "downloading" && seconds > 0 && loaded ? `, ${bytes(Math.round(loaded / seconds))}/s` : "";
  const verb = p.type === "loading_from_cache" ? "from cache" : "downloading";
  line.classList.toggle("failed", !p.ok);
  line.dataset.status = p.statusText;
  label.textContent = `${p.metadata.file} — ${verb} ${bytes(loaded)}${p.total ? ` of ${bytes(p.total)}` : ""}${speed}${p.ok ? "" : " (failed)"}`;
}

async function submit(event) {
  event.preventDefault();
  $("run").disabled = true;
  $("cancel").disabled = false;
  for (const id of ["view", "downloads"]) $(id).replaceChildren();
  for (const id of ["result", "timings"]) $(id).textContent = "";
  delete $("result").dataset.ready;
  $("status").className = "muted";
  controller = new AbortController();
  const { signal } = controller;
  try {
    const runs = Math.max(1, Number($("runs").value) || 1);
    const runOptions = $("run-options").value.trim() ? JSON.parse($("run-options").value) : {};
    const args = requestArgs();
    const imageURLs = args.flat().filter((a) => a instanceof Blob || /^(https?|data|blob):/.test(a))
      .map((a) => (a instanceof Blob ? URL.createObjectURL(a) : a));
    $("status").textContent = "Starting the engine…";
    const started = performance.now();
    const engine = await createEngine(engineOptions(), onProgress, signal);
    const load = performance.now() - started;
    const times = [];
    let result = null;
    const stream = el("p", { className: "generated stream", id: "stream" });
    for (let i = 0; i < runs && !signal.aborted; i++) {
      $("status").textContent = `Engine ready in ${ms(load)} ms; run ${i + 1} of ${runs}…`;
      let text = "";
      if (i === 0 && task().streams) $("view").replaceChildren(stream);
      const t0 = performance.now();
      for await (const piece of engine.runWithGenerator({ args, options: runOptions })) {
        if (signal.aborted) break;  // leaving the loop closes the stream: the engine stops generating
        if ("output" in piece) result = piece.output;
        else if (i === 0) stream.textContent = (text += piece.text);
      }
      if (!signal.aborted) times.push(performance.now() - t0);
    }
    if (signal.aborted) throw new DOMException("the run was cancelled", "AbortError");
    $("timings").textContent = `Load ${ms(load)} ms · ${times.length} run${times.length > 1 ? "s" : ""}: median ` +
      `${ms(quantile(times, 0.5))} ms, p90 ${ms(quantile(times, 0.9))} ms, spread ${ms(Math.min(...times))}–${ms(Math.max(...times))} ms`;
    $("status").textContent = `Done (${engine.engineId}).`;
    $("view").replaceChildren(render(result, { task: task().name, args, imageURLs }));
    $("result").textContent = JSON.stringify(result);
    $("result").dataset.ready = "true";
  } catch (error) {
    $("status").textContent = describeError(error);
    $("status").className = "error";
    $("result").dataset.ready = error.name === "AbortError" ? "cancelled" : "error";
  } finally {
    $("run").disabled = false;
    $("cancel").disabled = true;
  }
}

export async function init() {
  info = await catalog();
  for (const name of info.engineOptions.device.choices) $("device").append(new Option(name, name));
  for (const name of info.tasks.keys()) $("task").append(new Option(name, name));
  const presets = el("optgroup", { label: "Presets (ml-inference-options)" },
    info.presets.map((r) => new Option(`${r.featureId} (${r.taskName}, ${r.modelId})`, `feature:${r.featureId}`)));
  const examples = el("optgroup", { label: "One example per task" },
    [...info.tasks.keys()].map((name) => new Option(`${name} example`, `example:${name}`)));
  $("feature").append(presets, examples);
  $("feature").onchange = choosePreset;
  $("task").onchange = () => { $("feature").value = `example:${$("task").value}`; choosePreset(); };
  $("model").onchange = $("revision").onchange = () => refreshDtypes($("dtype").value);
  $("run-form").onsubmit = submit;
  $("cancel").onclick = () => controller?.abort();
  $("feature").value = "feature:sentence-embeddings";
  await choosePreset();
}
