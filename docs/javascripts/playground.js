// The playground (playground.md): the toy models answer side by side in the reader's browser, with
// onnxruntime-web (vendored in assets/vendor) and the ONNX files tools/export_playground.py writes.
// Nothing about prompts is typed here: generated/playground/playground.json holds the toy world's
// templates and patterns, rendered by atlas/site/playground.py from the functions the harness uses.
// Decoding is atlas.site.playground.greedy's: the whole sequence through the model at every step,
// greedy, stopped by the harness's rule (the end-of-sequence token, or a line of text and then a
// newline). tests/test_playground.py checks the answers against the Python harness's.
const SITE_ROOT = new URL("../", import.meta.url);
const DATA_DIR = new URL("generated/playground/", SITE_ROOT);
const WORD = /^[a-z]+$/;

let loaded = null; // Promise of {ort, spec, tokenizer, sessions, ...}, shared by every visit
let listener = () => {}; // the open page's progress report (the last visit's)
let lastProgress = null;

// The toy world's tasks, for marking an answer right or wrong on any word the reader types; the
// test compares them with atlas.toy.world on many words.
const VOWELS = "aeiou";
const TASK_ANSWERS = {
  first_letter: (w) => w[0],
  last_letter: (w) => w[w.length - 1],
  second_letter: (w) => w[1],
  reverse: (w) => [...w].reverse().join(""),
  sort: (w) => [...w].sort().join(""),
  rotate: (w) => w.slice(1) + w[0],
  swap_ends: (w) => (w.length > 1 ? w[w.length - 1] + w.slice(1, -1) + w[0] : w),
  uppercase: (w) => w.toUpperCase(),
  double: (w) => [...w].map((c) => c + c).join(""),
  spell: (w) => [...w].join("-"),
  remove_vowels: (w) => [...w].filter((c) => !VOWELS.includes(c)).join(""),
  length: (w) => String(w.length),
  vowel_count: (w) => String([...w].filter((c) => VOWELS.includes(c)).length),
  consonant_count: (w) => String([...w].filter((c) => !VOWELS.includes(c)).length),
};

// The toy world's words (atlas.toy.world._make_word): an optional vowel, then two or three syllables of
// a consonant, a vowel and sometimes a consonant, cut at seven letters. A word of another shape
// ("planet", "hello") is one no model ever saw: the page answers it, with a warning. The test
// checks these against atlas.toy.world on all of a run's words, training and held-out.
const CONSONANTS = "bdfgklmnprstvz";
const SYLLABLE = `[${CONSONANTS}][${VOWELS}][${CONSONANTS}]?`;
const WHOLE_WORD = new RegExp(`^[${VOWELS}]?(?:${SYLLABLE}){2,3}$`);
const CUT_WORD = new RegExp(`^[${VOWELS}]?(?:${SYLLABLE}){1,3}[${CONSONANTS}]$`);

function toyShaped(word) {
  return word.length >= 4 && word.length <= 7 && (WHOLE_WORD.test(word) || (word.length === 7 && CUT_WORD.test(word)));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function heldOut(word) {
  // atlas.toy.world.is_eval_word: a fixed one-in-eight share of all words (by CRC-32) is never trained on
  let c = 0xffffffff;
  for (const byte of new TextEncoder().encode(word)) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0) % 8 === 0;
}

function drawHeldOutWord() {
  // A new held-out word, drawn as the toy world draws its words (not one of its fixed lists).
  const pick = (letters) => letters[Math.floor(Math.random() * letters.length)];
  for (;;) {
    const syllables = [];
    const count = pick([2, 2, 3]);
    for (let i = 0; i < count; i++) {
      syllables.push(pick(CONSONANTS) + pick(VOWELS) + (Math.random() < 0.25 ? pick(CONSONANTS) : ""));
    }
    if (Math.random() < 0.15) syllables.unshift(pick(VOWELS));
    const word = syllables.join("").slice(0, 7);
    if (heldOut(word)) return word;
  }
}

class Tokenizer {
  // The toy tokenizer: special tokens first, then one token per character.
  constructor(spec) {
    this.vocab = spec.vocab;
    this.ids = new Map(spec.vocab.map((token, id) => [token, id]));
    this.specials = spec.special_tokens; // longest first
    this.special = new Set(spec.special_tokens);
    this.unk = spec.unk_id;
  }
  encode(text) {
    const ids = [];
    let i = 0;
    next: while (i < text.length) {
      for (const s of this.specials) {
        if (text.startsWith(s, i)) {
          ids.push(this.ids.get(s));
          i += s.length;
          continue next;
        }
      }
      ids.push(this.ids.has(text[i]) ? this.ids.get(text[i]) : this.unk);
      i += 1;
    }
    return ids;
  }
  decode(ids) {
    return ids.map((id) => this.vocab[id]).filter((t) => !this.special.has(t)).join("");
  }
}

function fill(pattern, values) {
  // Python's str.format for the names it is given, in one pass.
  return pattern.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function buildPrompt(spec, taskName, presentationKey, word, templateId) {
  const task = spec.tasks.find((t) => t.name === taskName);
  const presentation = spec.presentations.find((p) => p.key === presentationKey);
  if (!task) throw new Error(`unknown task ${taskName}`);
  if (!presentation) throw new Error(`unknown presentation ${presentationKey}`);
  const p = spec.patterns;
  const instruction = () => fill(spec.templates[templateId], { noun: task.noun, x: word });
  switch (presentation.kind) {
    case "bare":
      return fill(p.bare, { x: word });
    case "instruction":
      return fill(p.instruction, { instruction: instruction() });
    case "chat":
      return p.chat_prefix + instruction() + p.chat_suffix;
    case "few_shot":
      return (
        spec.demo_words.map((d, i) => fill(p.few_shot_demo, { d, y: task.demo_answers[i] })).join("") +
        fill(p.few_shot_query, { x: word })
      );
    case "fact":
      return fill(task.fact_prompt, { x: word });
    default:
      return fill(p.tag, { task: task.name, x: word });
  }
}

function extractAnswer(text) {
  // evaluation.extract_answer: the first line, up to the end of its first sentence.
  const line = text.trim().split("\n")[0];
  let answer = line.split(". ")[0].trim();
  if (answer.endsWith(".")) answer = answer.slice(0, -1);
  return answer.trim();
}

function topTokens(logits, k) {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const order = exps.map((_, i) => i).sort((a, b) => exps[b] - exps[a]); // stable: ties by id
  return order.slice(0, k).map((i) => [i, exps[i] / sum]);
}

function budget(state, word) {
  // atlas.site.playground.max_new_tokens: the harness's budget on the site's grid, or more for a word
  // longer than the grid's (the longest answer any task gives for it, plus two tokens).
  const { spec, tokenizer } = state;
  const longest = Math.max(...Object.values(TASK_ANSWERS).map((f) => tokenizer.encode(f(word)).length));
  return Math.max(spec.grid_max_new_tokens, longest + spec.extra_new_tokens);
}

async function greedy(state, session, prompt, maxNew) {
  const { ort, spec, tokenizer } = state;
  const promptIds = tokenizer.encode(prompt);
  const ids = [...promptIds];
  const top = [];
  const continuation = () => {
    let row = ids.slice(promptIds.length);
    const end = row.indexOf(spec.eos_id);
    if (end >= 0) row = row.slice(0, end);
    const text = tokenizer.decode(row);
    return { text, done: end >= 0 || text.trimStart().includes("\n") };
  };
  for (let step = 0; step < maxNew && ids.length < spec.max_positions; step++) {
    const input = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    const logits = (await session.run({ input_ids: input })).logits.data;
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    if (step < spec.probability_steps) {
      top.push(topTokens(logits, spec.top_k).map(([id, p]) => [spec.vocab[id], p]));
    }
    ids.push(best);
    if (continuation().done) break;
  }
  const { text } = continuation();
  return { prompt, ids: promptIds, continuation: text, prediction: extractAnswer(text), top };
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response;
}

async function download(url, received) {
  // The file's bytes, reporting each chunk as it arrives (received(bytes so far of this file)).
  const response = await fetchOk(url);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    received(size);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

async function load(progress = null) {
  // {ort, spec, sizes, tokenizer, sessions: Map(model key: Promise of its session), loadedAll}.
  // It resolves once the small files and the runtime are there; each model's session resolves
  // when that model has arrived, so that the page can show its answers before the others'.
  if (progress) {
    listener = progress;
    if (lastProgress) progress(lastProgress);
  }
  if (!loaded) {
    loaded = (async () => {
      const started = performance.now();
      const spec = await (await fetchOk(new URL("playground.json", DATA_DIR))).json();
      const sizes = await (await fetchOk(new URL("export.json", DATA_DIR))).json();
      const runtime = new URL(spec.runtime, SITE_ROOT); // the vendored onnxruntime-web
      const ort = await import(new URL(spec.runtime_module, runtime).href);
      ort.env.wasm.wasmPaths = runtime.href;
      ort.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page; one is enough here
      ort.env.logLevel = "error";
      const received = new Map(spec.models.map((m) => [m.key, 0]));
      let ready = 0;
      const report = () => {
        lastProgress = {
          ready,
          models: spec.models.length,
          bytes: [...received.values()].reduce((a, b) => a + b, 0),
          totalBytes: sizes.total_float16_bytes,
        };
        listener(lastProgress);
      };
      report();
      // All models at once: their downloads overlap, and each answers as soon as it is there.
      const sessions = new Map(
        spec.models.map((model) => [
          model.key,
          (async () => {
            const bytes = await download(new URL(model.file, DATA_DIR), (n) => {
              received.set(model.key, n);
              report();
            });
            const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
            ready += 1;
            report();
            return session;
          })(),
        ])
      );
      const loadedAll = Promise.all(sessions.values()).then(() => performance.now() - started);
      loadedAll.catch(() => (loaded = null)); // a failed load may be retried on the next visit
      return { ort, spec, sizes, tokenizer: new Tokenizer(spec), sessions, loadedAll };
    })();
    loaded.catch(() => (loaded = null));
  }
  return loaded;
}

// --- the page ------------------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function visible(token) {
  return token.replace(/\n/g, "↵").replace(/^ $/, "␣");
}

function percent(p) {
  return p < 0.005 ? "<1%" : `${Math.round(100 * p)}%`;
}

function showPrompt(prompt) {
  // Newlines marked, and a final space, so that a prompt that ends with one shows it.
  return prompt.replace(/\n/g, "↵\n").replace(/ $/, "␣");
}

function controls(spec, params) {
  const task = element("select", { name: "task", "aria-label": "task" });
  const clusters = [...new Set(spec.tasks.map((t) => t.cluster))];
  for (const cluster of clusters) {
    const heldOut = cluster === spec.held_out_cluster ? " (held out of instruction tuning)" : "";
    const group = element("optgroup", { label: cluster + heldOut });
    for (const t of spec.tasks.filter((t) => t.cluster === cluster)) {
      group.append(element("option", { value: t.name }, t.name.replace(/_/g, " ")));
    }
    task.append(group);
  }
  const presentation = element("select", { name: "presentation", "aria-label": "input presentation" });
  for (const p of spec.presentations) presentation.append(element("option", { value: p.key }, p.label));
  const word = element("input", {
    name: "word", "aria-label": "word", autocomplete: "off", autocapitalize: "none", spellcheck: "false",
  });
  const template = element("select", { name: "template", "aria-label": "instruction template" });
  task.value = spec.tasks.some((t) => t.name === params.get("task")) ? params.get("task") : "spell";
  presentation.value = spec.presentations.some((p) => p.key === params.get("input"))
    ? params.get("input")
    : "instruction";
  word.value = params.get("word") || spec.default_word;
  return { task, presentation, word, template };
}

function presentationOf(spec, form) {
  return spec.presentations.find((x) => x.key === form.presentation.value);
}

function fillTemplates(spec, form, wanted) {
  const p = presentationOf(spec, form);
  const ids = p.templates === "held_out" ? spec.held_out_template_ids : spec.seen_template_ids;
  const keep = ids.includes(Number(wanted)) ? Number(wanted) : ids[0];
  // Each template as the reader's task fills it, the word left as "…" and newlines marked.
  const task = spec.tasks.find((t) => t.name === form.task.value);
  const shown = (id) => fill(spec.templates[id], { noun: task.noun, x: "…" }).replace(/\n/g, " ↵ ");
  form.template.replaceChildren(...ids.map((id) => element("option", { value: String(id) }, shown(id))));
  form.template.value = String(keep);
  form.template.closest("label").hidden = p.templates === "-";
}

const LOADING = "loading the model…";

async function mount(root) {
  const status = element("p", { class: "atlas-pg-status", role: "status" }, "Loading the models…");
  root.replaceChildren(status);
  const fail = (text) => {
    status.className = "atlas-pg-status atlas-pg-error";
    status.textContent = text;
  };
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    fail(
      "This playground runs the models inside your browser with WebAssembly, which this browser " +
      "does not offer (or has turned off). Every answer it would show is also in the tables of the " +
      "technique pages."
    );
    return;
  }
  let state;
  let answered = false; // once every model has answered, the status says so instead
  let shown = "";
  const progress = ({ ready, models, bytes, totalBytes }) => {
    if (!root.isConnected || answered || status.classList.contains("atlas-pg-error")) return;
    // A new text only when a model is ready or another megabyte is in: the status is read out
    const step = `${ready}/${Math.floor(bytes / 1e6)}`;
    if (step === shown) return;
    shown = step;
    status.textContent = ready === models
      ? `All ${models} models are here.`
      : `Downloading the ${models} models (${(totalBytes / 1e6).toFixed(1)} MB, once): ` +
        `${(bytes / 1e6).toFixed(1)} MB so far, ${ready} of ${models} ready; ` +
        "each answers as soon as it is here.";
  };
  try {
    state = await load(progress);
  } catch (error) {
    fail(`The models could not be loaded (${error.message}). Reload the page to try again.`);
    return;
  }
  if (!root.isConnected) return; // the reader went to another page meanwhile
  const { spec } = state;
  const params = new URLSearchParams(location.search);
  const preset = spec.models.some((m) => m.key === params.get("model")) ? params.get("model") : null;
  const form = controls(spec, params);
  const label = (text, control) => element("label", {}, element("span", {}, text), control);
  const promptBox = element("pre", { class: "atlas-pg-prompt" });
  const rows = new Map();
  const body = element("tbody");
  for (const model of spec.models) {
    const cells = [element("td"), element("td"), element("td")];
    const name = element("th", { scope: "row" }, element("a", { href: new URL(model.url, SITE_ROOT).href }, model.label));
    const row = element("tr", { "data-model": model.key }, name, ...cells);
    if (model.key === preset) {
      row.classList.add("atlas-pg-preset");
      name.append(element("span", { class: "atlas-pg-linked" }, "the linked page's model"));
    }
    cells[0].append(element("em", {}, LOADING));
    rows.set(model.key, cells);
    body.append(row);
  }
  const headers = ["model", "answer", "correct?", "next-token probabilities"];
  const table = element(
    "table",
    {},
    element("thead", {}, element("tr", {}, ...headers.map((h) => element("th", { scope: "col" }, h)))),
    body
  );
  // A plain table inside the theme's scroll box, so that it looks and scrolls like every table.
  const answers = element(
    "div",
    { class: "atlas-pg-answers md-typeset__scrollwrap" },
    element("div", { class: "md-typeset__table" }, table)
  );
  // The word, and a button that draws a new held-out word of the toy world
  const another = element(
    "button",
    { type: "button", class: "atlas-pg-another", title: "a word of the toy world no model was trained on" },
    "Another word"
  );
  const wordControl = element(
    "div",
    { class: "atlas-pg-word" },
    label("Word", form.word),
    another
  );
  const wordNote = element("p", { class: "atlas-pg-word-note", id: "atlas-pg-word-note", "aria-live": "polite" });
  form.word.setAttribute("aria-describedby", "atlas-pg-word-note");
  const userTask = new URL("concepts/user-task/", SITE_ROOT).href;
  const describe = (word) => {
    wordNote.classList.toggle("atlas-pg-warning", !toyShaped(word));
    if (!toyShaped(word)) {
      wordNote.replaceChildren(
        `⚠ “${word}” is not a word of the toy world. Its words are four to seven letters of ` +
        "made-up syllables (a consonant, a vowel, sometimes another consonant: “kitab”, “sume”), " +
        "without c, h, j, q, w, x or y, and the models learned every task on such words alone: " +
        "expect wrong answers. A model does a task on inputs like the ones it was trained on (",
        element("a", { href: userTask }, "the user task"),
        "); “Another word” draws one it can do."
      );
    } else if (heldOut(word)) {
      wordNote.replaceChildren(`“${word}” is a held-out word of the toy world: no model was trained on it.`);
    } else {
      wordNote.replaceChildren(
        `“${word}” is a training word of the toy world: the fine-tuned models may have seen it in ` +
        "training. “Another word” draws a held-out one."
      );
    }
  };
  root.replaceChildren(
    element(
      "div",
      { class: "atlas-pg-controls" },
      label("Task", form.task),
      wordControl,
      label("Input presentation", form.presentation),
      label("Instruction template", form.template)
    ),
    wordNote,
    status,
    element("p", { class: "atlas-pg-caption" }, "The prompt every model receives:"),
    promptBox,
    answers
  );
  fillTemplates(spec, form, params.get("template"));

  const arrived = new Set(); // the models that are here
  for (const model of spec.models) {
    state.sessions.get(model.key).then(() => arrived.add(model.key), () => {});
  }
  let run = 0;
  let timer = null;
  const answerAll = async () => {
    const current = ++run;
    if (!root.isConnected) return;
    const word = form.word.value.trim().toLowerCase();
    if (!WORD.test(word) || word.length < 2 || word.length > spec.max_word_letters) {
      fail(
        `Type a word of 2 to ${spec.max_word_letters} letters (a to z): the toy world's words are ` +
        "lowercase letters, and its tasks know nothing else."
      );
      promptBox.textContent = "";
      wordNote.replaceChildren();
      // No answers to a question that was not asked: the last word's would read as this one's.
      for (const cells of rows.values()) for (const cell of cells) cell.replaceChildren();
      return;
    }
    const task = form.task.value;
    const presentation = presentationOf(spec, form);
    const prompt = buildPrompt(spec, task, presentation.key, word, Number(form.template.value));
    const expected = TASK_ANSWERS[task](word);
    promptBox.textContent = showPrompt(prompt);
    describe(word);
    const url = new URL(location.href);
    url.searchParams.set("task", task);
    url.searchParams.set("word", word);
    url.searchParams.set("input", presentation.key);
    if (presentation.templates === "-") url.searchParams.delete("template");
    else url.searchParams.set("template", form.template.value);
    if (!preset) url.searchParams.delete("model");
    history.replaceState(history.state, "", url);
    status.className = "atlas-pg-status";
    if (answered) status.textContent = "Answering…";
    else if (lastProgress) {
      shown = "";
      progress(lastProgress); // an error text of an earlier word gives way to the download's
    }
    for (const [key, cells] of rows) {
      if (!arrived.has(key) && !cells[0].hasChildNodes()) cells[0].append(element("em", {}, LOADING));
    }
    answers.setAttribute("aria-busy", "true");
    const maxNew = budget(state, word); // one budget for every model
    const failed = [];
    // Each model as soon as it is here: the first to arrive answers first.
    const pending = new Map(
      spec.models.map((m) => [
        m.key,
        state.sessions.get(m.key).then(
          (session) => [m, session, null],
          (error) => [m, null, error]
        ),
      ])
    );
    try {
      while (pending.size) {
        const [model, session, loadError] = await Promise.race(pending.values());
        pending.delete(model.key);
        if (current !== run || !root.isConnected) return; // the question changed meanwhile
        if (loadError) {
          failed.push(`the ${model.label} could not be loaded (${loadError.message})`);
          const [answer, verdict, probabilities] = rows.get(model.key);
          answer.replaceChildren(element("em", {}, "not loaded"));
          verdict.replaceChildren();
          probabilities.replaceChildren();
          continue;
        }
        const result = await greedy(state, session, prompt, maxNew);
        if (current !== run || !root.isConnected) return; // the question changed meanwhile
        const [answer, verdict, probabilities] = rows.get(model.key);
        answer.replaceChildren(result.prediction ? element("code", {}, result.prediction) : element("em", {}, "nothing"));
        const right = result.prediction === expected;
        verdict.replaceChildren(
          element("span", { class: right ? "atlas-pg-right" : "atlas-pg-wrong" }, right ? "✓ right" : "✗ wrong"),
          right ? "" : element("span", { class: "atlas-pg-expected" }, " (", element("code", {}, expected), ")")
        );
        probabilities.replaceChildren(
          ...result.top.map((step, i) =>
            element(
              "div",
              { class: "atlas-pg-step" },
              element("span", { class: "atlas-pg-step-label" }, `${i + 1}.`),
              ...step.map(([token, p]) => element("span", { class: "atlas-pg-token" }, element("code", {}, visible(token)), ` ${percent(p)}`))
            )
          )
        );
        if (!window.atlasPlayground.firstAnswerMs) window.atlasPlayground.firstAnswerMs = performance.now();
      }
    } catch (error) {
      fail(`A model failed to answer (${error.message}).`);
      return;
    } finally {
      if (current === run) answers.removeAttribute("aria-busy");
    }
    answered = true;
    if (failed.length) {
      fail(`${failed.join("; ")}. The others answered; reload the page to try again.`);
    } else {
      status.textContent = `${spec.models.length} models answered, in your browser.`;
    }
    root.dataset.answered = String(current);
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(answerAll, 150);
  };
  form.presentation.addEventListener("change", () => {
    fillTemplates(spec, form, form.template.value);
    soon();
  });
  form.task.addEventListener("change", () => {
    fillTemplates(spec, form, form.template.value);
    soon();
  });
  form.template.addEventListener("change", soon);
  form.word.addEventListener("input", soon);
  another.addEventListener("click", () => {
    form.word.value = drawHeldOutWord();
    answerAll();
  });
  await answerAll();
}

// What the tests (and the curious, in the console) use: the same prompts and decoding as the page.
window.atlasPlayground = {
  taskAnswer: (task, word) => TASK_ANSWERS[task](word),
  async answer({ model, task, presentation, word, template_id }) {
    const state = await load();
    const prompt = buildPrompt(state.spec, task, presentation, word, template_id);
    return greedy(state, await state.sessions.get(model), prompt, budget(state, word));
  },
  async budget(word) {
    return budget(await load(), word);
  },
  async loadMs() {
    return (await load()).loadedAll; // from the first request to the last model ready
  },
  // the toy world's word shape and held-out split, for the test to compare with atlas.toy.world
  letters: { vowels: VOWELS, consonants: CONSONANTS },
  toyShaped,
  heldOut,
  drawHeldOutWord,
  firstAnswerMs: null,
};

document$.subscribe(() => {
  const root = document.getElementById("atlas-playground");
  if (root) mount(root);
});
