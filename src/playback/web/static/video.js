// The video page: refresh once processing ends; let the owner delete the video.
import { api } from "/static/app.js";

const view = document.querySelector("[data-testid=video-page]");
const id = view.dataset.videoId;

if (view.dataset.status === "processing") {
  const timer = setInterval(async () => {
    const video = await api(`/api/v1/videos/${id}`).catch(() => null);
    if (video && video.status !== "processing") {
      clearInterval(timer);
      location.reload();
    }
  }, 1500);
}

view.querySelector("[data-action=delete]")?.addEventListener("click", async () => {
  if (!confirm("Delete this video for good?")) return;
  await api(`/api/v1/videos/${id}`, { method: "DELETE" });
  location.href = view.querySelector(".creator").getAttribute("href");
});
