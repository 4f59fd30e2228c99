// Models: every cached model and revision with its files, a total row, and deletion by model+revision, by
// task or by engine (each confirmed), with the storage estimate before and after.
import { deleteModels, listEngines, listFiles, listModels } from "../engine.mjs";
import { $, bytes, confirmDialog, describeError, el, row, storageText, when } from "./ui.mjs";

async function remove(query, what) {
  if (!(await confirmDialog(`Delete ${what} from the cache?`))) return;
  const before = await storageText();
  try {
    const deleted = await deleteModels(query);
    await refresh();
    $("storage").textContent = `Deleted ${deleted} file${deleted === 1 ? "" : "s"} (${what}). Before: ${before}. After: ${await storageText()}.`;
  } catch (error) {
    $("storage").textContent = describeError(error);
    $("storage").className = "error";
  }
}

export async function refresh() {
  const body = $("model-table").querySelector("tbody");
  const models = await listModels();
  const rows = [];
  let total = 0, count = 0;
  for (const m of models) {
    const files = await listFiles({ model: m.name, revision: m.revision });
    const button = el("button", { type: "button", className: "delete", textContent: "Delete" });
    button.onclick = () => remove({ model: m.name, revision: m.revision }, `${m.name} at ${m.revision}`);
    rows.push(el("tr", { className: "model", dataset: { model: m.name, revision: m.revision } },
      el("th", {}, m.name), el("td", {}, m.revision), el("td", {}, `${m.files} file${m.files === 1 ? "" : "s"} · ${m.taskNames.join(", ")}`),
      el("td", {}, bytes(m.size)), el("td"), el("td", {}, when(m.lastUsed)), el("td"), el("td", {}, m.engines.join(", ")),
      el("td", {}, button)));
    for (const f of files) {
      rows.push(el("tr", { className: "file", dataset: { path: f.path } }, el("td"), el("td"), el("td", {}, f.path),
        el("td", {}, bytes(f.headers.fileSize)), el("td", { className: "hash", title: f.sha256 ?? "" }, (f.sha256 ?? "").slice(0, 12)),
        el("td", {}, when(f.lastUsed)), el("td", {}, when(f.lastUpdated)), el("td", {}, f.engines.join(", ")), el("td")));
    }
    total += m.size;
    count += m.files;
  }
  body.replaceChildren(...rows);
  $("model-table").querySelector("tfoot").replaceChildren(
    row([`Total: ${models.length} model revision${models.length === 1 ? "" : "s"}`, "", `${count} files`, bytes(total), "", "", "", "", ""]));
  const tasks = [...new Set(models.flatMap((m) => m.taskNames))].sort();
  const engines = [...new Set([...models.flatMap((m) => m.engines), ...(await listEngines()).map((e) => e.engineId)])].sort();
  $("delete-task").replaceChildren(...tasks.map((t) => new Option(t, t)));
  $("delete-engine").replaceChildren(...engines.map((e) => new Option(e, e)));
  $("storage").className = "muted";
  if (!$("storage").textContent.startsWith("Deleted")) $("storage").textContent = `Storage: ${await storageText()}.`;
  body.dataset.ready = "true";
}

export function init() {
  $("models-refresh").onclick = () => { $("storage").textContent = ""; refresh(); };
  $("delete-task-go").onclick = () => $("delete-task").value && remove({ taskName: $("delete-task").value }, `every model of task ${$("delete-task").value}`);
  $("delete-engine-go").onclick = () => $("delete-engine").value && remove({ engineId: $("delete-engine").value }, `every model of engine ${$("delete-engine").value}`);
}

export function show() {
  $("storage").textContent = "";
  delete $("model-table").querySelector("tbody").dataset.ready;
  return refresh();
}
