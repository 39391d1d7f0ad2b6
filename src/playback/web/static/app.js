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

// Live character counters for fields with a maxlength.
for (const field of document.querySelectorAll("[data-counter]")) {
  const counter = field.parentElement.querySelector(".counter");
  const update = () => { counter.textContent = `${field.value.length}/${field.maxLength}`; };
  field.addEventListener("input", update);
  update();
}
