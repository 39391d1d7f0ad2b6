// Playback's shared page script: CSRF for fetch calls, small form helpers.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** fetch() for our JSON API from a logged-in page: sends the CSRF header and JSON. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { "X-CSRF-Token": csrf, ...headers }, credentials: "same-origin" };
  if (body !== undefined && !(body instanceof FormData)) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? response.statusText);
    error.code = data?.error?.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

/** "now", "5m", "3h", "2d", "4w", then a date. */
export function timeAgo(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)}d`;
  if (seconds < 5 * 7 * 86400) return `${Math.floor(seconds / (7 * 86400))}w`;
  return new Date(iso).toLocaleDateString();
}

// Live character counters for fields with a maxlength.
for (const field of document.querySelectorAll("[data-counter]")) {
  const counter = field.parentElement.querySelector(".counter");
  const update = () => { counter.textContent = `${field.value.length}/${field.maxLength}`; };
  field.addEventListener("input", update);
  update();
}

/**
 * Post a new video (multipart FormData) to the API with XMLHttpRequest, which, unlike fetch,
 * reports upload progress: ``onProgress(percent)`` as bytes go out. Resolves with the 202 body.
 */
export function postVideo(data, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/videos");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) resolve(xhr.response);
      else reject(new Error(xhr.response?.error?.message ?? `Upload failed (${xhr.status}).`));
    });
    xhr.addEventListener("error", () => reject(new Error("The connection was lost. Try again.")));
    xhr.send(data);
  });
}

/** Poll a new video (backing off) until it is no longer processing; resolves with its card. */
export async function waitUntilProcessed(id) {
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 4_000)) {
    const video = await api(`/api/v1/videos/${id}`);
    if (video.status !== "processing") return video;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
