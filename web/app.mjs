// The about:inference page: a thin UI over engine.mjs, one module per tab under page/. Tabs are deep-linked
// by the URL hash (#run, #models, #engines, #benchmark, #about) and follow the ARIA tabs pattern for the
// keyboard (arrow keys, Home, End move between tabs; Tab enters the panel).
import { createEngine } from "./engine.mjs";
import * as about from "./page/about.mjs";
import * as benchmark from "./page/benchmark.mjs";
import * as engines from "./page/engines.mjs";
import * as models from "./page/models.mjs";
import * as run from "./page/run.mjs";
import { $ } from "./page/ui.mjs";

window.createEngine = createEngine;
const TABS = { run, models, engines, benchmark, about };
const names = Object.keys(TABS);
let current = null;

function show(name, focus = false) {
  if (!TABS[name]) name = "run";
  if (name === current) return;
  for (const other of names) {
    const tab = $(`tab-${other}`);
    tab.setAttribute("aria-selected", String(other === name));
    tab.tabIndex = other === name ? 0 : -1;
    $(`panel-${other}`).hidden = other !== name;
  }
  TABS[current]?.hide?.();
  current = name;
  if (location.hash.slice(1) !== name) history.replaceState(null, "", `#${name}`);
  if (focus) $(`tab-${name}`).focus();
  TABS[name].show?.();
}

$("tabs").addEventListener("click", (event) => {
  const name = event.target.closest("[role=tab]")?.dataset.tab;
  if (name) show(name);
});
$("tabs").addEventListener("keydown", (event) => {
  const at = names.indexOf(current);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: names.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  show(names[(next + names.length) % names.length], true);
});
window.addEventListener("hashchange", () => show(location.hash.slice(1)));

await Promise.all(Object.values(TABS).map((tab) => tab.init?.()));
show(location.hash.slice(1));
document.body.dataset.ready = "true";
