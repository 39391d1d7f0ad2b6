// A sound's page: "load more" continues the grid from the API's pages without leaving the page;
// the creator of an original sound lets others use it, or stops them.
import { api } from "/static/app.js";

const page = document.querySelector("[data-testid=sound-page]");
const soundId = page.dataset.soundId;

/** 1234 → 1.2K, as the server's `compact` filter writes counts. */
function compact(value) {
  const n = Number(value) || 0;
  for (const [size, suffix] of [[1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (n >= size) return `${(n / size).toFixed(1).replace(/\.0$/, "")}${suffix}`;
  }
  return String(n);
}

/** 41000 ms → "0:41", as the server's `duration` filter writes lengths. */
function duration(ms) {
  if (!ms) return "";
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** One grid cell, the same markup as _grid.html. */
function gridItem(video) {
  const a = document.createElement("a");
  a.href = `/v/${video.id}`;
  a.dataset.testid = "grid-item";
  a.dataset.status = video.status;
  if (video.poster_url) {
    const img = document.createElement("img");
    img.src = video.poster_url;
    img.alt = (video.caption || "").slice(0, 80);
    img.loading = "lazy";
    a.append(img);
  }
  if (video.stats) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `▶ ${compact(video.stats.views)}`;
    a.append(badge);
  }
  const length = document.createElement("span");
  length.className = "duration";
  length.textContent = duration(video.duration_ms);
  a.append(length);
  return a;
}

const more = page.querySelector("[data-testid=load-more]");
more?.addEventListener("click", async (event) => {
  event.preventDefault();
  if (more.getAttribute("aria-disabled") === "true") return;
  more.setAttribute("aria-disabled", "true");
  more.textContent = "Loading…";
  try {
    const cursor = encodeURIComponent(more.dataset.cursor);
    const result = await api(`/api/v1/sounds/${soundId}/videos?cursor=${cursor}`);
    const grid = page.querySelector("[data-testid=video-grid]");
    const seen = new Set([...grid.querySelectorAll("a")].map((a) => a.getAttribute("href")));
    for (const video of result.items) {
      if (!seen.has(`/v/${video.id}`)) grid.append(gridItem(video));
    }
    if (result.next_cursor) {
      more.dataset.cursor = result.next_cursor;
      more.href = `/sounds/${soundId}?cursor=${result.next_cursor}`;
    } else {
      more.parentElement.remove();
    }
  } catch {
    // The link still works without JavaScript's help: follow it.
    location.href = more.href;
    return;
  }
  more.removeAttribute("aria-disabled");
  more.textContent = "Load more";
});

const reuse = page.querySelector("[data-testid=sound-reuse]");
reuse?.addEventListener("change", async () => {
  const error = page.querySelector("[data-testid=sound-reuse-error]");
  error.hidden = true;
  reuse.disabled = true;
  try {
    const sound = await api(`/api/v1/sounds/${soundId}`, {
      method: "PATCH",
      body: { reuse_allowed: reuse.checked },
    });
    reuse.checked = sound.reuse_allowed;
  } catch (err) {
    reuse.checked = !reuse.checked;
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    reuse.disabled = false;
  }
});
