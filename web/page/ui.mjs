// Small DOM and number helpers shared by the tabs. No UI library: the page is five tables and a form, and
// this file is all the abstraction they need.
export const $ = (id) => document.getElementById(id);

/** el("td", {className: "x"}, "text", child) */
export function el(tag, props = {}, ...children) {
  const { dataset = {}, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  Object.assign(node.dataset, dataset);
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

export const row = (cells) => el("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c))));

export function bytes(n) {
  if (n == null) return "?";
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export const when = (ms) => (ms ? new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }) : "—");

/** The q-quantile of numbers by linear interpolation (q=0.5 the median, as numpy's default). */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

export const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : "—");

/** An error as people read it: its name and message, never swallowed. */
export const describeError = (error) => `${error?.name ?? "Error"}: ${error?.message ?? error}`;

export async function storageText() {
  if (!navigator.storage?.estimate) return "storage estimate not available";
  const { usage, quota } = await navigator.storage.estimate();
  return `${bytes(usage)} used of ${bytes(quota)} available`;
}

/** Asks a yes/no question in the page's <dialog id="confirm"> (keyboard: Enter/Escape). */
export function confirmDialog(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}
