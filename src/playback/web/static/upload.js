// The upload page: send the file with a real progress bar, then follow processing until the
// video is ready and play it.

import { postVideo, waitUntilProcessed } from "/static/app.js";

const root = document.getElementById("upload");
const form = document.getElementById("upload-form");
const progressBox = root.querySelector(".upload-progress");
const bar = progressBox.querySelector("progress");
const percent = progressBox.querySelector("[data-role=percent]");
const phase = progressBox.querySelector("[data-role=phase]");
const processing = root.querySelector(".processing");
const ready = root.querySelector(".ready");
const errorBox = form.querySelector("[role=alert]");
const maxBytes = Number(root.dataset.maxBytes);

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  form.hidden = false;
  progressBox.hidden = true;
  processing.hidden = true;
}

function upload(data) {
  return postVideo(data, (share) => {
    bar.value = share;
    percent.textContent = `${share}%`;
    if (share === 100) phase.textContent = "Checking the video…";
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const file = form.elements.file.files[0];
  if (!file) return showError("Choose a video first.");
  if (file.size > maxBytes) return showError(`That file is too large (at most ${Math.round(maxBytes / 1048576)} MB).`);
  const data = new FormData();
  data.append("file", file);
  data.append("caption", form.elements.caption.value);
  data.append("visibility", form.elements.visibility.value);
  for (const name of ["allow_comments", "allow_duet", "allow_stitch"]) {
    data.append(name, form.elements[name].checked ? "true" : "false");
  }
  form.hidden = true;
  progressBox.hidden = false;
  try {
    const accepted = await upload(data);
    progressBox.hidden = true;
    processing.hidden = false;
    const video = await waitUntilProcessed(accepted.id);
    processing.hidden = true;
    if (video.status === "failed") return showError(`We could not process that video (${video.error_code}).`);
    const player = ready.querySelector("video");
    player.src = video.video_url;
    player.poster = video.poster_url;
    ready.querySelector("[data-role=view]").href = `/v/${video.id}`;
    ready.hidden = false;
  } catch (error) {
    showError(error.message);
  }
});
