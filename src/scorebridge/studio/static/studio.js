// The studio page: upload -> poll the job -> show score (followed while the audio plays), piano roll, downloads.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, info: null, measures: [], current: null, roll: null, poll: null };

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(await detail(r));
  return r.json();
}

async function detail(r) {
  try { const d = await r.json(); return typeof d.detail === "string" ? d.detail : JSON.stringify(d.detail); }
  catch (e) { return `HTTP ${r.status}`; }
}

function showError(message) { $("error").textContent = message; $("error").hidden = !message; }

function chooseFile(file) {
  state.file = file || null;
  $("file-name").textContent = file ? `${file.name} (${(file.size / 1024).toFixed(0)} KB)` : "";
  $("go").disabled = !file;
  showError("");
}

async function submit() {
  const targets = [...document.querySelectorAll("input[name=target]:checked")].map((c) => c.value);
  if (!state.file || !targets.length) { showError("choose a file and at least one target"); return; }
  const form = new FormData();
  form.append("file", state.file);
  form.append("targets", targets.join(","));
  $("go").disabled = true;
  showError("");
  resetResult();
  try {
    const r = await fetch("/api/jobs", { method: "POST", body: form });
    if (!r.ok) throw new Error(await detail(r));
    track((await r.json()).id);
  } catch (e) {
    showError(e.message);
    $("go").disabled = false;
  }
}

function track(id) {
  $("progress").hidden = false;
  const tick = async () => {
    let job;
    try { job = await getJson(`/api/jobs/${id}`); } catch (e) { finish(e.message); return; }
    $("bar").max = job.steps; $("bar").value = job.step;
    $("status").textContent = `${job.state}: ${job.message}`;
    if (job.state === "done") { finish(""); await showResult(job); }
    else if (job.state === "failed") finish(job.error || "the job failed");
    else state.poll = setTimeout(tick, 400);
  };
  tick();
}

function finish(error) { $("go").disabled = !state.file; showError(error); }

function resetResult() {
  $("result").hidden = true;
  $("score").replaceChildren();
  $("downloads").replaceChildren();
  $("problems").replaceChildren();
  $("roll").hidden = true;
  const player = $("player");
  player.pause(); player.removeAttribute("src"); player.hidden = true;
  state.measures = []; state.current = null; state.roll = null;
  $("follow-note").textContent = "";
}

async function showResult(job) {
  $("result").hidden = false;
  for (const f of job.files) {
    const li = document.createElement("li"), a = document.createElement("a");
    a.href = f.download; a.textContent = f.name; a.setAttribute("download", f.name);
    li.append(a); $("downloads").append(li);
  }
  for (const p of job.problems) {
    const li = document.createElement("li"); li.textContent = p; $("problems").append(li);
  }
  if (job.audio) { $("player").src = job.audio; $("player").hidden = false; }
  for (const url of job.pages) await addPage(url);
  if (job.measures) {
    const m = await getJson(job.measures);
    state.measures = m.measures.slice().sort((a, b) => a.start_ms - b.start_ms);
    if (job.audio) $("follow-note").textContent = m.timing === "alignment"
      ? "measures follow the audio by the model's alignment" : "measures follow the audio by the engraver's timemap";
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
  svg.setAttribute("viewBox", cropBox(svg, w, h));
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

function measureAt(ms) {
  const ms_ = state.measures;
  let lo = 0, hi = ms_.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ms_[mid].start_ms <= ms) { found = ms_[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found && ms < found.end_ms ? found : null;
}

function follow() {
  const ms = $("player").currentTime * 1000;
  const m = measureAt(ms);
  const id = m ? m.id : null;
  if (id !== state.current) {
    if (state.current) document.getElementById(state.current)?.classList.remove("sb-playing");
    const g = id && document.getElementById(id);
    if (g) { g.classList.add("sb-playing"); g.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
    state.current = id;
  }
  if (state.roll) drawRoll(ms);
  if (!$("player").paused) requestAnimationFrame(follow);
}

function drawRoll(ms) {
  const c = $("roll"), g = c.getContext("2d"), roll = state.roll;
  const notes = roll.notes;
  g.clearRect(0, 0, c.width, c.height);
  if (!notes.length) return;
  const lo = Math.min(...notes.map((n) => n[2])) - 1, hi = Math.max(...notes.map((n) => n[2])) + 1;
  const xs = c.width / Math.max(roll.duration_ms, 1), ys = c.height / (hi - lo + 1);
  for (const [on, off, pitch, vel] of notes) {
    const sounding = on <= ms && ms < off;
    g.fillStyle = sounding ? "#b3261e" : `rgba(36, 52, 71, ${0.35 + 0.65 * vel / 127})`;
    g.fillRect(on * xs, c.height - (pitch - lo + 1) * ys, Math.max(1, (off - on) * xs), Math.max(1, ys - 1));
  }
  g.fillStyle = "#2a7ae2";
  g.fillRect(ms * xs, 0, 2, c.height);
}

async function init() {
  const drop = $("drop");
  $("file").addEventListener("change", () => chooseFile($("file").files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); chooseFile(e.dataTransfer.files[0]); });
  $("go").addEventListener("click", submit);
  const player = $("player");
  player.addEventListener("play", () => requestAnimationFrame(follow));
  player.addEventListener("seeked", follow);
  player.addEventListener("timeupdate", () => { if (player.paused) follow(); });
  try {
    state.info = await getJson("/api/info");
    $("model-state").textContent = state.info.model ? "model loaded: every route"
      : "no model loaded: scores to MIDI, audio, image and LMX (pages and recordings need a model: start without --no-model, or with --weights)";
  } catch (e) { showError(e.message); }
}

init();
