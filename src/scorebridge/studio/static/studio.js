// The studio page: choose a file (its targets offered by type) -> upload -> poll the job -> show the score
// (followed while the audio plays), the piano roll (with axes), the input beside its results, downloads.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, info: null, measures: [], current: null, roll: null, poll: null, clock: null,
                inputUrl: null, job: 0 };
const SOURCE_WORDS = { image: "a page", audio: "a recording", midi: "a MIDI file", notation: "a score" };
const NOTE_NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(await detail(r));
  return r.json();
}

async function detail(r) {
  try { const d = await r.json(); return typeof d.detail === "string" ? d.detail : JSON.stringify(d.detail); }
  catch (e) { return `the server answered ${r.status}`; }
}

function sentence(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }

function showError(message) { $("error").textContent = sentence(message); $("error").hidden = !message; }

function setStatus(text, step = 0, steps = 1) {
  $("progress").hidden = !text;
  $("status").textContent = text || "";
  $("bar").max = steps; $("bar").value = step;
}

// -- choosing a file: what it is, what can be made of it --------------------------------------------------
function sourceOf(file) {
  const dot = file.name.lastIndexOf(".");
  const suffix = dot < 0 ? "" : file.name.slice(dot).toLowerCase();
  return (state.info && state.info.inputs && state.info.inputs[suffix]) || null;
}

function chooseFile(file) {
  stopPolling();
  state.file = file || null;
  $("file-name").textContent = file ? `${file.name} (${(file.size / 1024).toFixed(0)} KB)` : "";
  $("go").disabled = !file;
  showError("");
  setStatus("");
  resetResult();  // the shown results belong to the previous file
  const source = file ? sourceOf(file) : null;
  offerTargets(source);
  showInput(file, source);
}

// Only the targets this type of file can become are shown; the usual ones are ticked.
function offerTargets(source) {
  const info = state.info, spec = info && source ? info.sources[source] : null;
  $("targets-hint").textContent = spec ? `This is ${SOURCE_WORDS[source]}. What should be made of it?` : "";
  for (const label of document.querySelectorAll("#targets label[data-target]")) {
    const box = label.querySelector("input"), why = label.querySelector(".why"), target = box.value;
    let offered = true, enabled = true, checked = box.checked, reason = "";
    if (spec) {
      offered = spec.targets.includes(target);
      checked = spec.default.includes(target);
      if (target === source) { checked = true; enabled = false; reason = "always made from a score"; }
      else if (spec.need_model.includes(target)) {
        reason = info.model ? "by the model: slow, check the result" : "needs a model, which is not loaded";
        if (!info.model) { enabled = false; checked = false; }
      }
    }
    label.hidden = !offered;
    label.classList.toggle("unavailable", !enabled);
    box.disabled = !enabled;
    box.checked = offered && checked;
    why.textContent = reason ? `(${reason})` : "";
  }
}

// A recording is played from the browser's copy; a MIDI file once the server has rendered it (after a job).
function showInput(file, source) {
  const player = $("input-player");
  player.pause();
  if (state.inputUrl) { URL.revokeObjectURL(state.inputUrl); state.inputUrl = null; }
  player.removeAttribute("src");
  $("input-row").hidden = true;
  if (file && source === "audio") {
    state.inputUrl = URL.createObjectURL(file);
    setInputPlayer(state.inputUrl, "your recording");
  }
}

function setInputPlayer(url, label) {
  $("input-player").src = url;
  $("input-label").textContent = label;
  $("input-row").hidden = false;
}

// -- a job --------------------------------------------------------------------------------------------------
async function submit() {
  const targets = [...document.querySelectorAll("#targets label:not([hidden]) input:checked")].map((c) => c.value);
  if (!state.file || !targets.length) { showError("Choose a file and at least one thing to make."); return; }
  const form = new FormData();
  form.append("file", state.file);
  form.append("targets", targets.join(","));
  stopPolling();
  $("go").disabled = true;
  showError("");
  resetResult();
  setStatus("uploading");
  const job = ++state.job;  // a later submit makes this one's answers stale
  try {
    const r = await fetch("/api/jobs", { method: "POST", body: form });
    if (!r.ok) throw new Error(await detail(r));
    if (job === state.job) track((await r.json()).id, job);
  } catch (e) {
    if (job !== state.job) return;
    setStatus("");
    showError(e.message);
    $("go").disabled = !state.file;
  }
}

function stopPolling() { if (state.poll) clearTimeout(state.poll); state.poll = null; state.job++; }

function track(id, job) {
  const tick = async () => {
    let data;
    try { data = await getJson(`/api/jobs/${id}`); } catch (e) { if (job === state.job) finish(e.message); return; }
    if (job !== state.job) return;
    if (data.state === "queued") setStatus("waiting for the previous file to finish", 0, 1);
    else if (data.state === "running") setStatus(data.message, data.step, data.steps);
    if (data.state === "done") {
      const notes = (data.problems || []).length + (data.warnings || []).length;
      setStatus(`finished in ${data.seconds} s${notes ? ": please read the notes beside the result" : ""}`, 1, 1);
      finish("");
      await showResult(data);
    } else if (data.state === "failed") {
      setStatus("");
      finish(sentence(data.error || "nothing could be made of this file"));
    } else state.poll = setTimeout(tick, 400);
  };
  tick();
}

function finish(error) { $("go").disabled = !state.file; showError(error); }

function resetResult() {
  $("result").hidden = true;
  for (const id of ["score", "downloads", "problems", "warnings"]) $(id).replaceChildren();
  $("notices").hidden = true; $("problems-box").hidden = true;
  $("roll").hidden = true;
  const player = $("player");
  player.pause(); player.removeAttribute("src"); player.hidden = true;
  state.measures = []; state.current = null; state.roll = null; state.clock = null;
  $("follow-note").textContent = "";
  if (!state.inputUrl) { $("input-player").pause(); $("input-player").removeAttribute("src"); $("input-row").hidden = true; }
}

function listItems(id, texts) {
  for (const t of texts) { const li = document.createElement("li"); li.textContent = t; $(id).append(li); }
}

async function showResult(job) {
  $("result").hidden = false;
  for (const f of job.files) {
    const li = document.createElement("li"), a = document.createElement("a");
    a.href = f.download; a.textContent = f.name; a.setAttribute("download", f.name);
    li.append(a); $("downloads").append(li);
  }
  listItems("warnings", job.warnings || []);
  listItems("problems", job.problems || []);
  $("problems-box").hidden = !(job.problems || []).length;
  $("notices").hidden = !(job.problems || []).length && !(job.warnings || []).length;
  if (job.input_audio && !state.inputUrl) setInputPlayer(job.input_audio, "your MIDI file, played by a synthesizer");
  if (job.audio) { $("player").src = job.audio; $("player").hidden = false; }
  for (const url of job.pages) await addPage(url);
  if (job.measures) {
    const m = await getJson(job.measures);
    state.measures = m.measures.slice().sort((a, b) => a.start_ms - b.start_ms);
    if (job.audio) $("follow-note").textContent = m.timing === "alignment"
      ? "the score follows the audio by the model's alignment" : "the score follows the audio; click a measure to play from it";
  }
  if (job.notes) { state.roll = await getJson(job.notes); $("roll").hidden = false; drawRoll(0); }
}

async function addPage(url) {
  const r = await fetch(url);
  if (!r.ok) return;
  const div = document.createElement("div");
  div.className = "page";
  // Verovio's SVG, made by the server from the engraved score (scripts in innerHTML never run; CSP forbids them)
  div.innerHTML = await r.text();
  $("score").append(div);
  const svg = div.querySelector("svg");
  if (!svg) return;
  const w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
  svg.removeAttribute("width"); svg.removeAttribute("height");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const inner = svg.querySelector("svg");  // sized by percent of the outer box: pin it before cropping that box
  if (inner) { inner.setAttribute("width", w); inner.setAttribute("height", h); }
  const box = cropBox(svg, w, h);
  svg.setAttribute("viewBox", box);
  // a short score (one system of a few measures) keeps the size a full system would have, not the page's width
  svg.style.maxWidth = `${Math.min(100, 105 * parseFloat(box.split(" ")[2]) / w)}%`;
  svg.addEventListener("click", (ev) => {
    const g = ev.target.closest("g.measure:not(.bounding-box)");
    const m = g && state.measures.find((x) => x.id === g.id);
    if (m && !$("player").hidden) { $("player").currentTime = m.start_ms / 1000; $("player").play(); }
  });
}

// The page's margins cut to its systems (in page units), so the music fills the width.
function cropBox(svg, w, h) {
  const page = svg.getBoundingClientRect(), k = w / page.width;
  const boxes = [...svg.querySelectorAll("g.system")].map((g) => g.getBoundingClientRect()).filter((r) => r.width);
  if (!boxes.length || !page.width) return `0 0 ${w} ${h}`;
  const pad = 12;
  const x0 = Math.max(0, (Math.min(...boxes.map((r) => r.left)) - page.left) * k - pad);
  const y0 = Math.max(0, (Math.min(...boxes.map((r) => r.top)) - page.top) * k - pad);
  const x1 = Math.min(w, (Math.max(...boxes.map((r) => r.right)) - page.left) * k + pad);
  const y1 = Math.min(h, (Math.max(...boxes.map((r) => r.bottom)) - page.top) * k + pad);
  return `${x0} ${y0} ${x1 - x0} ${y1 - y0}`;
}

// -- following the audio ------------------------------------------------------------------------------------
function measureAt(ms) {
  const ms_ = state.measures;
  let lo = 0, hi = ms_.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ms_[mid].start_ms <= ms) { found = ms_[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found && ms < found.end_ms ? found : null;
}

// The score follows the result's audio (played from that score); the roll follows whichever player moved last.
function follow() {
  const clock = state.clock || $("player");
  const ms = clock.currentTime * 1000;
  if (clock === $("player")) {
    const m = measureAt(ms);
    const id = m ? m.id : null;
    if (id !== state.current) {
      if (state.current) document.getElementById(state.current)?.classList.remove("sb-playing");
      const g = id && document.getElementById(id);
      if (g) { g.classList.add("sb-playing"); g.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
      state.current = id;
    }
  }
  if (state.roll) drawRoll(ms);
  if (!clock.paused) requestAnimationFrame(follow);
}

function noteName(pitch) { return `${NOTE_NAMES[pitch % 12]}${Math.floor(pitch / 12) - 1}`; }

// A time step (s) that puts labels at least ~80 px apart.
function timeStep(pxPerSecond) {
  for (const s of [0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (s * pxPerSecond >= 80) return s;
  return 1200;
}

function drawRoll(ms) {
  const c = $("roll"), roll = state.roll, notes = roll.notes;
  const scale = window.devicePixelRatio || 1, cssWidth = c.clientWidth || 1000, cssHeight = 240;
  if (c.width !== Math.round(cssWidth * scale)) { c.width = Math.round(cssWidth * scale); c.height = cssHeight * scale; }
  const g = c.getContext("2d");
  g.setTransform(scale, 0, 0, scale, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  if (!notes.length) return;
  const left = 44, bottom = 22, top = 6, right = 8, w = cssWidth - left - right, h = cssHeight - top - bottom;
  const lo = Math.min(...notes.map((n) => n[2])) - 1, hi = Math.max(...notes.map((n) => n[2])) + 1;
  const xs = w / Math.max(roll.duration_ms, 1), ys = h / (hi - lo + 1);
  const y = (pitch) => top + h - (pitch - lo + 1) * ys;
  g.font = "11px system-ui, sans-serif"; g.textBaseline = "middle"; g.textAlign = "right";
  // pitch axis: every C (every note when the range is narrow), with a faint line
  const every = hi - lo < 10 ? 1 : 12;
  for (let p = lo; p <= hi; p++) {
    if (p % every && every !== 1) continue;
    g.fillStyle = "rgba(0, 0, 0, .07)"; g.fillRect(left, y(p), w, 1);
    g.fillStyle = "#555"; g.fillText(noteName(p), left - 5, y(p) + ys / 2);
  }
  // time axis in seconds
  g.textAlign = "center"; g.textBaseline = "top";
  const step = timeStep(w / Math.max(roll.duration_ms / 1000, 0.001));
  for (let t = 0; t * 1000 <= roll.duration_ms; t += step) {
    const x = left + t * 1000 * xs;
    g.fillStyle = "rgba(0, 0, 0, .12)"; g.fillRect(x, top, 1, h + 4);
    g.fillStyle = "#555"; g.fillText(`${+t.toFixed(2)} s`, x, top + h + 6);
  }
  for (const [on, off, pitch, vel] of notes) {
    const sounding = on <= ms && ms < off;
    g.fillStyle = sounding ? "#b3261e" : `rgba(36, 52, 71, ${0.35 + 0.65 * vel / 127})`;
    g.fillRect(left + on * xs, y(pitch), Math.max(1, (off - on) * xs), Math.max(1, ys - 1));
  }
  g.fillStyle = "#2a7ae2";
  g.fillRect(left + Math.min(ms, roll.duration_ms) * xs, top, 2, h);
}

function listen(player) {
  const start = () => { state.clock = player; requestAnimationFrame(follow); };
  player.addEventListener("play", start);
  player.addEventListener("seeked", () => { state.clock = player; follow(); });
  player.addEventListener("timeupdate", () => { if (player.paused && state.clock === player) follow(); });
}

async function init() {
  const drop = $("drop");
  $("file").addEventListener("change", () => chooseFile($("file").files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); chooseFile(e.dataTransfer.files[0]); });
  $("go").addEventListener("click", submit);
  listen($("player"));
  listen($("input-player"));
  window.addEventListener("resize", () => { if (state.roll && !$("roll").hidden) follow(); });
  try {
    state.info = await getJson("/api/info");
    $("model-state").textContent = state.info.model ? "model loaded: pages and recordings can be read"
      : "no model loaded: scores and MIDI files only (to read pages and recordings, start without --no-model, or with --weights)";
    if (state.file) offerTargets(sourceOf(state.file));
  } catch (e) { showError(e.message); }
}

init();
