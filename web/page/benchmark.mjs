// Benchmark: chosen workloads (a preset per task, dtypes, thread counts), each run N times in a dedicated
// engine ("benchmark"), as a table and a bar chart of median and p90 latency and load time; JSON and CSV
// exports. Requests are each task's example from the task table; one untimed warm-up run precedes the N.
import { createEngine, hubDtypes, terminateEngine } from "../engine.mjs";
import { absolute, catalog } from "./catalog.mjs";
import { $, describeError, el, ms, quantile } from "./ui.mjs";

const ENGINE_ID = "benchmark";
let info = null;
let results = [];
let stopped = false;

function example(task) {
  const { args = [], options = {} } = info.tasks.get(task).example;
  return { args: args.map((a, i) => (["image", "audio"].includes(info.tasks.get(task).form[i]) ? absolute(a) : a)), options };
}

function show() {
  $("bench-table").querySelector("tbody").replaceChildren(...results.map((r) => el("tr", { dataset: { key: key(r) } },
    [r.featureId, r.taskName, r.dtype, r.numThreads, ms(r.loadMs), ms(r.medianMs), ms(r.p90Ms), r.error ?? r.runs]
      .map((v) => el("td", {}, v)))));
  const done = results.filter((r) => !r.error);
  // Latencies share one scale and load times another: a load is often 100 times a run.
  const tops = { median: Math.max(1e-9, ...done.map((r) => r.p90Ms)), load: Math.max(1e-9, ...done.map((r) => r.loadMs)) };
  tops.p90 = tops.median;
  const bar = (kind, value) => el("div", { className: "barrow" }, el("span", {}, `${kind} ${ms(value)} ms`),
    el("div", { className: `bar ${kind}`, style: `width: ${(100 * value) / tops[kind]}%`, title: `${kind} ${ms(value)} ms` }));
  $("bench-chart").replaceChildren(...done.map((r) => el("div", { className: "config", dataset: { key: key(r) } },
    el("div", { className: "name" }, key(r)), bar("median", r.medianMs), bar("p90", r.p90Ms), bar("load", r.loadMs))));
  const csv = [["featureId", "taskName", "modelId", "dtype", "numThreads", "runs", "loadMs", "firstRunMs", "medianMs", "p90Ms", "error"],
    ...results.map((r) => [r.featureId, r.taskName, r.modelId, r.dtype, r.numThreads, r.runs, r.loadMs, r.firstRunMs, r.medianMs, r.p90Ms, r.error ?? ""])]
    .map((line) => line.map((v) => (/[",\n]/.test(String(v ?? "")) ? `"${String(v).replace(/"/g, '""')}"` : v ?? "")).join(",")).join("\n");
  for (const [id, text, type] of [["bench-json", JSON.stringify(results, null, 1), "application/json"], ["bench-csv", `${csv}\n`, "text/csv"]]) {
    URL.revokeObjectURL($(id).href);
    $(id).href = URL.createObjectURL(new Blob([text], { type }));
    $(id).hidden = !results.length;
  }
}

const key = (r) => `${r.featureId} ${r.dtype} ×${r.numThreads}`;

async function measure(preset, dtype, numThreads, runs) {
  const entry = { featureId: preset.featureId, taskName: preset.taskName, modelId: preset.modelId, dtype, numThreads, runs: 0 };
  try {
    const started = performance.now();
    const engine = await createEngine({ featureId: preset.featureId, dtype, numThreads, engineId: ENGINE_ID, timeoutMS: -1 });
    entry.loadMs = performance.now() - started;
    const request = example(preset.taskName);
    const warm = performance.now();
    await engine.run(request);  // the first run also compiles and allocates: reported apart, not counted
    entry.firstRunMs = performance.now() - warm;
    const times = [];
    for (let i = 0; i < runs && !stopped; i++) {
      $("bench-status").textContent = `${key(entry)}: run ${i + 1} of ${runs}`;
      const t0 = performance.now();
      await engine.run(request);
      times.push(performance.now() - t0);
    }
    Object.assign(entry, { runs: times.length, medianMs: quantile(times, 0.5), p90Ms: quantile(times, 0.9), timesMs: times });
  } catch (error) {
    entry.error = describeError(error);
  } finally {
    await terminateEngine(ENGINE_ID);
  }
  return entry;
}

async function start(event) {
  event.preventDefault();
  const features = [...$("bench-features").querySelectorAll("input:checked")].map((box) => info.presets.find((p) => p.featureId === box.value));
  const dtypes = [...$("bench-dtypes").querySelectorAll("input:checked")].map((box) => box.value);
  const threads = $("bench-threads").value.split(",").map((t) => Number(t.trim())).filter((t) => Number.isInteger(t) && t >= 0);
  const runs = Math.max(1, Number($("bench-runs").value) || 25);
  if (!features.length || !dtypes.length || !threads.length) {
    $("bench-status").textContent = "Pick at least one workload, one dtype and one thread count.";
    return;
  }
  stopped = false;
  results = [];
  show();
  $("bench-go").disabled = true;
  $("bench-stop").disabled = false;
  delete $("bench-table").dataset.done;
  for (const preset of features) {
    let available;
    try {
      available = await hubDtypes({ featureId: preset.featureId });
    } catch (error) {
      results.push({ featureId: preset.featureId, taskName: preset.taskName, modelId: preset.modelId, error: describeError(error) });
      continue;
    }
    for (const dtype of dtypes.filter((d) => available.includes(d))) {
      for (const numThreads of threads) {
        if (stopped) break;
        results.push(await measure(preset, dtype, numThreads, runs));
        show();
      }
    }
  }
  show();
  $("bench-status").textContent = stopped ? "Stopped." : `Done: ${results.length} configuration${results.length === 1 ? "" : "s"}.`;
  $("bench-go").disabled = false;
  $("bench-stop").disabled = true;
  $("bench-table").dataset.done = "true";
}

export async function init() {
  info = await catalog();
  // The named features (demo-*, sentence-embeddings, ...): records named after their model are left to the Run tab.
  const features = info.presets.filter((p) => p.featureId !== p.modelId);
  $("bench-features").append(...features.map((p) => el("label", { className: "check" },
    el("input", { type: "checkbox", value: p.featureId, name: "feature" }), ` ${p.featureId} (${p.taskName})`)));
  $("bench-dtypes").append(...info.dtypes.map((d) => el("label", { className: "check" },
    el("input", { type: "checkbox", value: d, name: "dtype", checked: d === "fp32" || d === "q8" }), ` ${d}`)));
  $("bench-form").onsubmit = start;
  $("bench-stop").onclick = () => { stopped = true; };
}
