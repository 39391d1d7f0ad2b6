// The recorder: a camera preview, a 3-2-1 countdown, then MediaRecorder records while the sound
// plays from the chosen offset (a playback), beside the original (a duet) or after a part of it
// (a stitch). Retake, or post the take with a real upload progress bar and open it when ready.
//
// Timing: the server lays the sound from `sound_offset_ms` at the first frame of the clip. The
// recorder starts first and the sound right after; the offset sent is the one the audio element
// reports against the recording's clock, so a sound that starts late is still laid in sync.
import { api, postVideo, waitUntilProcessed } from "/static/app.js";

const root = document.getElementById("recorder");
const config = JSON.parse(document.getElementById("recorder-config").textContent);
const $ = (selector) => root.querySelector(selector);

const camera = $("[data-testid=camera-preview]");
const review = $("[data-testid=review-player]");
const original = $("[data-testid=original-video]");
const originalPane = $("[data-role=original-pane]");
const audio = $("[data-testid=sound-audio]");
const cameraOff = $("[data-testid=camera-off]");
const countdownEl = $("[data-testid=countdown]");
const progressEl = $("[data-testid=record-progress]");
const timerEl = $("[data-testid=record-timer]");
const recordButton = $("[data-testid=record-button]");
const stopButton = $("[data-testid=stop-button]");
const limitEl = $("[data-testid=record-limit]");
const errorEl = $("[data-testid=record-error]");
const offsetField = $("[data-role=offset-field]");
const offsetSlider = $("[data-testid=offset-slider]");
const offsetValue = $("[data-testid=offset-value]");
const previewButton = $("[data-testid=preview-button]");
const stitchStart = $("[data-testid=stitch-start]");
const stitchLength = $("[data-testid=stitch-length]");
const postForm = $("[data-testid=post-form]");
const keepVoice = $("[data-testid=keep-voice]");
const voiceVolume = $("[data-testid=voice-volume]");
const voiceValue = $("[data-testid=voice-volume-value]");
const clipInput = $("[data-testid=clip-input]");
const uploadBar = $("[data-testid=upload-bar]");
const uploadPercent = $("[data-testid=upload-percent]");
const uploadPhase = $("[data-testid=upload-progress] [data-role=phase]");

const COUNTDOWN_FROM = 3;
const MIN_TAKE_MS = 1_100; // the server takes clips of at least a second
const MEASURE_FOR_MS = 2_500; // how long the sound's real start is measured after recording starts
const MEDIA_WAIT_MS = 8_000;
// VP8 first: the lightest to encode on a phone; MP4 for Safari, which records nothing else.
const MIME_TYPES = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"];
const mimeType = window.MediaRecorder
  ? MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? ""
  : "";

const state = {
  name: "idle",
  stream: null,
  recorder: null,
  chunks: [],
  take: null, // { blob, name, kind: "recording" | "file", url, offsetMs }
  offsetMs: 0,
  startedAt: 0,
  samples: [],
  autoStop: null,
  cancelIntro: null,
};

// --- small helpers ----------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves on the element's event, or after `ms` (media events may never come). */
function once(target, event, ms = MEDIA_WAIT_MS) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    target.addEventListener(event, () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** 65500 → "1:05.5" */
function clock(ms) {
  const seconds = ms / 1000;
  return `${Math.floor(seconds / 60)}:${(seconds % 60).toFixed(1).padStart(4, "0")}`;
}

/** 35000 → "35", 1500 → "1.5" (whole seconds once there are ten or more). */
function seconds(ms) {
  return ms >= 10_000 ? String(Math.floor(ms / 1000)) : (Math.floor(ms / 100) / 10).toString();
}

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = false;
}

function hideError() {
  errorEl.hidden = true;
}

/** Every element with data-show="state …" is visible in those states only. */
function setState(name) {
  state.name = name;
  root.dataset.state = name;
  for (const el of root.querySelectorAll("[data-show]")) {
    el.hidden = !el.dataset.show.split(" ").includes(name);
  }
  // An uploaded clip may still be slid against the sound; a recording was made at its offset.
  if (offsetField) offsetField.hidden = !(name === "idle" || (name === "review" && state.take?.kind === "file"));
  for (const input of root.querySelectorAll(".rec-field input")) input.disabled = !["idle", "review"].includes(name);
}

/** Seek a media element and wait until it can play from there. */
async function seekTo(media, seconds) {
  media.pause();
  if (media.readyState < HTMLMediaElement.HAVE_METADATA) await once(media, "loadedmetadata");
  if (Math.abs(media.currentTime - seconds) > 0.01) {
    media.currentTime = seconds;
    if (media.seeking) await once(media, "seeked");
  }
  if (media.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) await once(media, "canplay");
}

// --- limits -----------------------------------------------------------------------------------

/** How long a take may run: the licence's (or 60 s), and no longer than the sound left. */
function limitMs() {
  let limit = config.limit_ms;
  if (config.mode === "sound") limit = Math.min(limit, config.sound.duration_ms - state.offsetMs);
  return Math.max(MIN_TAKE_MS, limit);
}

function renderLimit() {
  if (limitEl) limitEl.textContent = `Up to ${seconds(limitMs())} s`;
}

// --- the camera -------------------------------------------------------------------------------

function cameraMessage(error) {
  if (error?.name === "NotAllowedError") return "Allow camera access in your browser to record, or upload a clip instead.";
  if (error?.name === "NotFoundError" || error?.name === "OverconstrainedError") return "No camera was found. Upload a clip instead.";
  return "The camera could not start. Upload a clip instead.";
}

async function startCamera() {
  cameraOff.hidden = true;
  if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder) {
    cameraOff.querySelector("[data-role=camera-message]").textContent = "This browser cannot record video. Upload a clip instead.";
    cameraOff.querySelector("button").hidden = true;
    cameraOff.hidden = false;
    return;
  }
  // 720p: phones held upright turn it to portrait themselves. Asking for a portrait size
  // makes some cameras crop a 4K picture, which is slow to encode and drops frames.
  const video = { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
  try {
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ video, audio: true });
    } catch (error) {
      if (error.name !== "NotAllowedError" && error.name !== "NotFoundError") throw error;
      // No microphone (or none allowed): record the picture; the sound is the audio.
      state.stream = await navigator.mediaDevices.getUserMedia({ video });
      if (keepVoice) {
        keepVoice.checked = false;
        keepVoice.disabled = true;
      }
    }
  } catch (error) {
    cameraOff.querySelector("[data-role=camera-message]").textContent = cameraMessage(error);
    cameraOff.hidden = false;
    return;
  }
  camera.srcObject = state.stream;
  camera.play().catch(() => {});
  recordButton.disabled = false;
}

cameraOff.querySelector("button").addEventListener("click", startCamera);
window.addEventListener("pagehide", () => {
  for (const track of state.stream?.getTracks() ?? []) track.stop();
});

// --- the sound: offset and preview ----------------------------------------------------------

if (audio) {
  const renderOffset = () => { offsetValue.textContent = clock(Number(offsetSlider.value)); };
  offsetSlider.addEventListener("input", renderOffset);
  offsetSlider.addEventListener("change", async () => {
    state.offsetMs = Number(offsetSlider.value);
    renderLimit();
    if (state.take?.kind === "file") {
      state.take.offsetMs = state.offsetMs;
      playReview();
      return;
    }
    await seekTo(audio, state.offsetMs / 1000);
    audio.play().catch(() => {});
  });
  previewButton.addEventListener("click", async () => {
    if (!audio.paused) return audio.pause();
    await seekTo(audio, state.offsetMs / 1000);
    audio.play().catch(() => {});
  });
  const renderPreview = () => {
    const playing = !audio.paused && state.name === "idle";
    previewButton.setAttribute("aria-pressed", String(playing));
    previewButton.textContent = playing ? "❚❚ Pause" : "▶ Play";
  };
  audio.addEventListener("play", renderPreview);
  audio.addEventListener("pause", renderPreview);
  renderOffset();
}

// --- stitch: which part plays first -------------------------------------------------------------

function stitchPart() {
  const start = Number(stitchStart.value);
  const length = Math.min(Number(stitchLength.value), (config.original.duration_ms || 0) - start);
  return { start, length: Math.max(1_000, Math.floor(length / 500) * 500) };
}

/** Play the chosen part of the original over the camera; resolves when it has played. */
function playStitchPart() {
  const { start, length } = stitchPart();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      original.pause();
      originalPane.classList.remove("showing");
      state.cancelIntro = null;
      resolve();
    };
    state.cancelIntro = finish;
    originalPane.classList.add("showing");
    seekTo(original, start / 1000).then(() => {
      if (done) return;
      original.play().catch(() => {});
      const end = (start + length) / 1000;
      const watch = () => {
        if (done) return;
        if (original.currentTime >= end - 0.02 || original.ended) finish();
        else requestAnimationFrame(watch);
      };
      watch();
      setTimeout(finish, length + 1_500); // whatever happens, recording starts
    });
  });
}

if (stitchStart) {
  const render = () => {
    const { start, length } = stitchPart();
    $("[data-testid=stitch-start-value]").textContent = clock(start);
    $("[data-testid=stitch-length-value]").textContent = `${(length / 1000).toFixed(1)} s`;
  };
  stitchStart.addEventListener("input", render);
  stitchLength.addEventListener("input", render);
  const preview = () => { if (state.name === "idle" && !state.cancelIntro) playStitchPart(); };
  stitchStart.addEventListener("change", preview);
  stitchLength.addEventListener("change", preview);
  $("[data-testid=stitch-preview]").addEventListener("click", () => {
    if (state.cancelIntro) state.cancelIntro();
    else preview();
  });
  render();
}

// --- recording -----------------------------------------------------------------------------------

recordButton.addEventListener("click", async () => {
  if (!state.stream) return;
  hideError();
  audio?.pause();
  state.cancelIntro?.();
  setState("countdown");
  // Get the sound (or the original) ready at its start while the countdown runs.
  const ready = audio
    ? seekTo(audio, state.offsetMs / 1000)
    : config.mode === "duet" ? seekTo(original, 0) : Promise.resolve();
  for (let n = COUNTDOWN_FROM; n > 0; n -= 1) {
    countdownEl.textContent = String(n);
    countdownEl.classList.remove("tick");
    void countdownEl.offsetWidth; // restart the animation
    countdownEl.classList.add("tick");
    await sleep(1_000);
  }
  await ready;
  if (config.mode === "stitch") {
    setState("intro");
    await playStitchPart();
  }
  begin();
});

function begin() {
  let recorder;
  try {
    recorder = new MediaRecorder(state.stream, mimeType ? { mimeType } : undefined);
  } catch {
    setState("idle");
    return showError("This browser cannot record here. Upload a clip instead.");
  }
  state.recorder = recorder;
  state.chunks = [];
  state.samples = [];
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size) state.chunks.push(event.data);
  });
  recorder.addEventListener("stop", finishTake, { once: true });
  recorder.start(1_000);
  state.startedAt = performance.now();
  // The sound starts the moment recording does (it is already at the offset).
  if (audio) audio.play().catch(() => {});
  if (config.mode === "duet") original.play().catch(() => {});
  setState("recording");
  stopButton.disabled = true;
  state.autoStop = setTimeout(stop, limitMs());
  requestAnimationFrame(tick);
}

function tick() {
  if (state.name !== "recording") return;
  const elapsed = performance.now() - state.startedAt;
  const limit = limitMs();
  if (audio && elapsed < MEASURE_FOR_MS && !audio.paused && audio.currentTime * 1000 > state.offsetMs + 20) {
    // Where the sound is now, minus how long we have been recording: where it was at the
    // recording's first frame.
    state.samples.push(audio.currentTime * 1000 - elapsed);
  }
  progressEl.value = Math.min(1, elapsed / limit) * 1000;
  timerEl.textContent = `${(elapsed / 1000).toFixed(1)} s / ${seconds(limit)} s`;
  stopButton.disabled = elapsed < MIN_TAKE_MS;
  if (elapsed >= limit) return stop();
  requestAnimationFrame(tick);
}

function stop() {
  if (state.name !== "recording") return;
  clearTimeout(state.autoStop);
  audio?.pause();
  original?.pause();
  setState("finishing");
  state.recorder.stop();
}

stopButton.addEventListener("click", () => {
  if (performance.now() - state.startedAt >= MIN_TAKE_MS) stop();
});

/** The offset the sound really had when recording started (the median of what was measured). */
function measuredOffsetMs() {
  if (!state.samples.length) return state.offsetMs;
  const sorted = [...state.samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return Math.min(config.sound.duration_ms - 1, Math.max(0, Math.round(median)));
}

function finishTake() {
  const type = state.recorder.mimeType || mimeType || "video/webm";
  const blob = new Blob(state.chunks, { type });
  state.chunks = [];
  const extension = type.includes("mp4") ? "mp4" : "webm";
  setTake({
    blob,
    name: `recording.${extension}`,
    kind: "recording",
    offsetMs: audio ? measuredOffsetMs() : 0,
  });
}

// --- the take: review, retake, upload instead -----------------------------------------------------

function setTake(take) {
  if (state.take?.url) URL.revokeObjectURL(state.take.url);
  take.url = URL.createObjectURL(take.blob);
  state.take = take;
  root.dataset.take = take.kind;
  root.dataset.offsetMs = String(take.offsetMs);
  review.src = take.url;
  setState("review");
  renderVoice();
  playReview();
}

/** Play the take from the start, with the sound (or the original) beside it. */
function playReview() {
  if (!state.take) return;
  review.pause();
  review.currentTime = 0;
  review.play().catch(() => {});
}

function syncCompanions() {
  if (state.name !== "review" || !state.take) return;
  const at = review.currentTime;
  if (audio) {
    audio.currentTime = state.take.offsetMs / 1000 + at;
    if (!review.paused) audio.play().catch(() => {});
  }
  if (config.mode === "duet") {
    original.currentTime = at;
    if (!review.paused) original.play().catch(() => {});
  }
}

review.addEventListener("play", syncCompanions);
review.addEventListener("seeked", syncCompanions);
for (const event of ["pause", "ended"]) {
  review.addEventListener(event, () => {
    audio?.pause();
    if (config.mode === "duet") original.pause();
  });
}

$("[data-testid=retake-button]").addEventListener("click", () => {
  review.pause();
  review.removeAttribute("src");
  review.load();
  if (state.take?.url) URL.revokeObjectURL(state.take.url);
  state.take = null;
  delete root.dataset.take;
  if (clipInput) clipInput.value = "";
  hideError();
  setState("idle");
  if (audio) seekTo(audio, state.offsetMs / 1000);
});

clipInput.addEventListener("change", () => {
  const file = clipInput.files[0];
  if (!file) return;
  hideError();
  if (file.size > config.max_bytes) {
    clipInput.value = "";
    return showError(`That file is too large (at most ${Math.round(config.max_bytes / 1048576)} MB).`);
  }
  audio?.pause();
  setTake({ blob: file, name: file.name, kind: "file", offsetMs: state.offsetMs });
});

function renderVoice() {
  if (!keepVoice) {
    review.muted = false;
    return;
  }
  voiceVolume.disabled = !keepVoice.checked;
  voiceValue.textContent = `${voiceVolume.value}%`;
  // Hear the take as it will be: without the microphone unless it is kept.
  review.muted = !keepVoice.checked;
  review.volume = Number(voiceVolume.value) / 100;
}
keepVoice?.addEventListener("change", renderVoice);
voiceVolume?.addEventListener("input", renderVoice);

// --- posting ------------------------------------------------------------------------------------

function upload(data) {
  return postVideo(data, (share) => {
    uploadBar.value = share;
    uploadPercent.textContent = `${share}%`;
    if (share === 100) uploadPhase.textContent = "Checking the video…";
  });
}

function formData() {
  const take = state.take;
  const fields = postForm.elements;
  const data = new FormData();
  data.append("file", take.blob, take.name);
  data.append("caption", fields.caption.value);
  data.append("visibility", fields.visibility.value);
  for (const name of ["allow_comments", "allow_duet", "allow_stitch"]) {
    data.append(name, fields[name].checked ? "true" : "false");
  }
  const clipVolume = keepVoice?.checked ? voiceVolume.value : "0";
  if (config.mode === "sound") {
    data.append("sound_id", config.sound.id);
    data.append("sound_offset_ms", String(take.offsetMs));
    data.append("clip_volume", clipVolume);
  } else if (config.mode === "duet") {
    data.append("duet_of", config.original.id);
    data.append("clip_volume", clipVolume);
  } else if (config.mode === "stitch") {
    const { start, length } = stitchPart();
    data.append("stitch_of", config.original.id);
    data.append("stitch_start_ms", String(start));
    data.append("stitch_ms", String(length));
  }
  return data;
}

postForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.take) return;
  hideError();
  review.pause();
  const data = formData();
  uploadBar.value = 0;
  uploadPercent.textContent = "0%";
  uploadPhase.textContent = "Uploading…";
  setState("uploading");
  try {
    const accepted = await upload(data);
    setState("processing");
    const video = await waitUntilProcessed(accepted.id);
    if (video.status === "failed") throw new Error(`We could not process that video (${video.error_code}).`);
    location.href = `/v/${video.id}`;
  } catch (error) {
    setState("review");
    showError(error.message || "Something went wrong. Try again.");
  }
});

// --- start ----------------------------------------------------------------------------------------

setState("idle");
renderLimit();
startCamera();
