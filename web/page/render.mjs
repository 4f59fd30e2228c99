// Results as people read them, one renderer per kind of result (the raw JSON stays in the Run tab's
// "Raw JSON"). A renderer gets (result, {task, args, imageURLs}) and returns a node; a task without one
// shows JSON. A new task needs at most one renderer here.
import { el } from "./ui.mjs";

const pct = (score) => `${(100 * score).toFixed(1)}%`;

/** [{label, score}] as bars. */
export function scoreBars(items) {
  return el("ol", { className: "scores" }, items.map(({ label, score }) => el("li", { dataset: { label } },
    el("span", { className: "label" }, label),
    el("span", { className: "bar" }, el("span", { style: `width: ${Math.max(0, Math.min(1, score)) * 100}%` })),
    el("span", { className: "score" }, pct(score)))));
}

/** text with [start, end) spans marked; spans: [{start, end, label, score}] (overlaps: the first wins). */
export function marked(text, spans) {
  const out = el("p", { className: "marked" });
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at || span.end <= span.start) continue;
    out.append(text.slice(at, span.start));
    out.append(el("mark", { title: span.score == null ? span.label : `${span.label} ${pct(span.score)}`,
                            dataset: { label: span.label ?? "" } },
                  text.slice(span.start, span.end), span.label ? el("sup", {}, span.label) : ""));
    at = span.end;
  }
  out.append(text.slice(at));
  return out;
}

const one = (result) => (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result);

function cosineMatrix(vectors) {
  const norms = vectors.map((v) => Math.hypot(...v));
  return vectors.map((a, i) => vectors.map((b, j) => a.reduce((s, x, k) => s + x * b[k], 0) / (norms[i] * norms[j])));
}

/** Pooled embeddings of several inputs as a cosine-similarity heat map; per-token ones as their shape. */
function embeddings(result, { args }) {
  const shape = [];
  for (let v = result; Array.isArray(v); v = v[0]) shape.push(v.length);
  const caption = el("p", { className: "muted" }, `Shape ${shape.join(" × ")}`);
  const pooled = shape.length === 2 && shape[0] > 1;
  if (!pooled) return el("div", {}, caption);
  const names = Array.isArray(args[0]) ? args[0].map((x) => (typeof x === "string" ? x : "image")) : result.map((_, i) => `#${i + 1}`);
  const matrix = cosineMatrix(result);
  const table = el("table", { className: "heatmap" },
    el("tr", {}, el("th", {}, "cosine"), names.map((n) => el("th", { title: n }, n.length > 24 ? `${n.slice(0, 24)}…` : n))),
    matrix.map((cells, i) => el("tr", {}, el("th", { title: names[i] }, names[i].length > 24 ? `${names[i].slice(0, 24)}…` : names[i]),
      cells.map((c) => el("td", { style: `background: hsl(${210 - 210 * Math.max(0, c)} 70% ${90 - 35 * Math.abs(c)}%)`,
                                  dataset: { value: String(c) } }, c.toFixed(2))))));
  return el("div", {}, caption, table);
}

function tokenClassification(result, { args }) {
  const text = args[0];
  const entities = one(result);
  return marked(text, entities.map((e) => ({ start: e.start, end: e.end, label: e.entity_group ?? e.entity, score: e.score })));
}

function questionAnswering(result, { args }) {
  const answer = Array.isArray(result) ? result[0] : result;
  return el("div", {}, el("p", {}, el("strong", {}, "Q: "), args[0]),
            marked(args[1], [{ start: answer.start, end: answer.end, label: "answer", score: answer.score }]));
}

function fillMask(result) {
  const candidates = one(result);
  return el("ol", { className: "candidates" }, candidates.map((c) => {
    const at = c.sequence.indexOf(c.token_str.trim());
    const sentence = at < 0 ? el("span", {}, c.sequence)
      : marked(c.sequence, [{ start: at, end: at + c.token_str.trim().length, label: null }]);
    return el("li", { dataset: { token: c.token_str } }, sentence, el("span", { className: "score" }, pct(c.score)));
  }));
}

function imageFigure(url, caption) {
  return el("figure", {}, el("img", { src: url, alt: caption ?? "" }), caption ? el("figcaption", {}, caption) : "");
}

function detection(result, { imageURLs }) {
  const boxes = one(result);
  const canvas = el("canvas", { className: "boxes" });
  const image = new Image();
  const drawn = new Promise((resolve) => {
    image.onload = () => {
      const scale = Math.max(1, Math.floor(320 / image.width));
      canvas.width = image.width * scale;
      canvas.height = image.height * scale;
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 2;
      ctx.font = "12px system-ui";
      boxes.forEach(({ box, label, score }, i) => {
        ctx.strokeStyle = ctx.fillStyle = `hsl(${(i * 67) % 360} 90% 45%)`;
        ctx.strokeRect(box.xmin * scale, box.ymin * scale, (box.xmax - box.xmin) * scale, (box.ymax - box.ymin) * scale);
        ctx.fillText(`${label} ${pct(score)}`, box.xmin * scale + 2, box.ymin * scale + 12);
      });
      canvas.dataset.boxes = String(boxes.length);
      resolve();
    };
    image.onerror = resolve;
  });
  image.src = imageURLs[0];
  canvas.drawn = drawn;
  return el("div", {}, canvas, scoreBars(boxes.map(({ label, score }) => ({ label, score }))));
}

const generatedText = (item) => item.generated_text ?? item.summary_text ?? item.translation_text;

function texts(result) {
  const items = one(result);
  return el("div", { className: "generated" }, (Array.isArray(items) ? items : [items]).map((item) =>
    el("p", {}, typeof item === "string" ? item : generatedText(item) ?? JSON.stringify(item))));
}

function caption(result, { imageURLs }) {
  const items = one(result);
  return el("div", {}, items.map((item, i) => imageFigure(imageURLs[i] ?? imageURLs[0], generatedText(item))));
}

function zeroShot(result) {
  const item = Array.isArray(result) ? result[0] : result;
  return scoreBars(item.labels.map((label, i) => ({ label, score: item.scores[i] })));
}

function imageLabels(result, { imageURLs }) {
  return el("div", { className: "side" }, imageFigure(imageURLs[0]), scoreBars(one(result)));
}

/** The text, and with return_timestamps each segment with its start and end in seconds. */
function transcript(result) {
  const { text, chunks } = Array.isArray(result) ? result[0] : result;
  const seconds = (t) => (t == null ? "…" : `${t.toFixed(2)} s`);
  return el("div", {}, el("p", { className: "generated" }, text),
    chunks ? el("ol", { className: "segments" }, chunks.map(({ timestamp: [start, end], text: said }) =>
      el("li", { dataset: { start: String(start) } }, el("span", { className: "muted" }, `${seconds(start)} – ${seconds(end)} `), said)))
      : "");
}

const RENDERERS = {
  "feature-extraction": embeddings, "image-feature-extraction": embeddings,
  "text-classification": (r) => scoreBars(one(r)), "token-classification": tokenClassification,
  "question-answering": questionAnswering, "fill-mask": fillMask, "zero-shot-classification": zeroShot,
  "text-generation": texts, "text2text-generation": texts, "summarization": texts, "translation": texts,
  "automatic-speech-recognition": transcript,
  "image-to-text": caption, "image-classification": imageLabels, "zero-shot-image-classification": imageLabels,
  "object-detection": detection,
};

export function render(result, context) {
  const renderer = RENDERERS[context.task];
  if (!renderer) return el("pre", {}, JSON.stringify(result, null, 1));
  return renderer(result, context);
}
