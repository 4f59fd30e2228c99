// What the Run and Benchmark tabs offer, asked once: the task table (from the engine host, answered from
// pyodide_pkg/tasks.py) and the presets (the settings' ml-inference-options records that name a featureId).
import { describeTasks } from "../engine.mjs";

let loaded = null;

export function catalog() {
  loaded ??= (async () => {
    const [described, settings] = await Promise.all([
      describeTasks(),
      fetch(new URL("../settings/ml-inference-options.json", import.meta.url)).then((r) => r.json()),
    ]);
    const tasks = new Map(described.tasks.map((t) => [t.name, t]));
    const presets = settings.data.filter((r) => r.featureId && tasks.has(r.taskName));
    return { ...described, tasks, presets };
  })();
  return loaded;
}

/** An example arg as the engine takes it: a page-relative URL (the example image) made absolute. */
export const absolute = (value) => new URL(value, new URL("../", import.meta.url)).href;
