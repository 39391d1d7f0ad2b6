// Notifications: the Inbox badge in the tab bar (every page of a logged-in person, live over
// Server-Sent Events) and, on /inbox, the list itself (marked read on open, updated live).
import { api, timeAgo } from "/static/app.js";

const badge = document.querySelector("[data-testid=inbox-badge]");
const inboxLink = document.querySelector("[data-testid=inbox-link]");
const page = document.querySelector("[data-testid=inbox]");

function setBadge(count) {
  if (!badge) return;
  badge.hidden = count <= 0;
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.dataset.count = String(count);
  inboxLink?.setAttribute("aria-label", count > 0 ? `Inbox, ${count} unread` : "Inbox");
}


// --- the inbox page ---------------------------------------------------------------------------

const ICONS = {
  like: "M12 21s-7.5-4.6-9.6-9.3C.9 8.2 3 4 6.9 4c2.1 0 3.6 1.1 5.1 3 1.5-1.9 3-3 5.1-3C21 4 23.1 8.2 21.6 11.7 19.5 16.4 12 21 12 21z",
  comment: "M12 3C6.5 3 2 6.8 2 11.5c0 2.6 1.4 4.9 3.6 6.5L5 21.5l4.2-2.1c.9.2 1.8.3 2.8.3 5.5 0 10-3.8 10-8.4S17.5 3 12 3z",
  follow: "M9 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 1.5c-4.4 0-8 2.7-8 6.5h16c0-3.8-3.6-6.5-8-6.5zM19 7v3h-3v2h3v3h2v-3h3v-2h-3V7z",
};
const KIND_ICON = {
  like: "like", milestone: "like", comment: "comment", reply: "comment", mention: "comment",
  follow: "follow", follow_request: "follow", follow_accepted: "follow",
};

function notificationItem(n) {
  const li = document.createElement("li");
  li.className = n.read ? "notification" : "notification unread";
  li.dataset.testid = "notification";
  li.dataset.id = n.id;
  li.dataset.kind = n.kind;

  let face;
  if (n.actor?.avatar_url) {
    face = document.createElement("img");
    face.src = n.actor.avatar_url;
    face.alt = "";
    face.loading = "lazy";
  } else {
    face = document.createElement("span");
    face.setAttribute("aria-hidden", "true");
    face.textContent = n.actor ? n.actor.handle[0].toUpperCase() : "🎉";
    if (!n.actor) face.classList.add("milestone");
  }
  face.classList.add("n-avatar");

  const href = n.video_id ? `/v/${n.video_id}` : n.actor ? `/@${n.actor.handle}` : null;
  const text = document.createElement(href ? "a" : "p");
  text.className = "n-text";
  if (href) text.href = href;
  if (n.actor && n.text.startsWith(n.actor.handle)) {
    const who = document.createElement("strong");
    who.textContent = n.actor.handle;
    text.append(who, n.text.slice(n.actor.handle.length));
  } else {
    text.textContent = n.text;
  }
  if (!n.read) {
    const hidden = document.createElement("span");
    hidden.className = "sr-only";
    hidden.textContent = " (new)";
    text.append(hidden);
  }
  const time = document.createElement("time");
  time.dateTime = n.updated_at;
  time.title = new Date(n.updated_at).toLocaleString();
  time.textContent = timeAgo(n.updated_at);
  const body = document.createElement("div");
  body.className = "n-body";
  body.append(text, time);

  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("class", "n-kind");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[KIND_ICON[n.kind] ?? "comment"]);
  icon.append(path);

  if (n.actor && href !== `/@${n.actor.handle}`) {
    const profile = document.createElement("a");
    profile.href = `/@${n.actor.handle}`;
    profile.setAttribute("aria-label", `@${n.actor.handle}`);
    profile.append(face);
    li.append(profile, body, icon);
  } else {
    li.append(face, body, icon);
  }
  return li;
}

function inboxPage() {
  const list = page.querySelector("[data-testid=notifications]");
  const spinner = page.querySelector("[data-role=spinner]");
  const empty = page.querySelector("[data-testid=inbox-empty]");
  const errorEl = page.querySelector("[data-testid=inbox-error]");
  const more = page.querySelector("[data-role=more]");
  const fresh = page.querySelector("[data-testid=inbox-new]");
  let cursor = null;
  let work = Promise.resolve(); // list updates run one after another
  let unseen = 0;

  const queue = (task) => {
    work = work.then(task).catch(() => {
      errorEl.hidden = false;
    });
    return work;
  };

  function showFresh() {
    const count = list.querySelectorAll(".notification.unread").length;
    fresh.hidden = count === 0;
    fresh.textContent = `${count} new`;
  }

  async function markRead() {
    if (document.hidden) {
      unseen += 1;
      return;
    }
    const result = await api("/api/v1/notifications/read", { method: "POST" });
    setBadge(result.unread_count);
  }

  /** Put a page's items in place: the unread ones (new or updated) move to the top. */
  function merge(items, append) {
    if (append) {
      for (const n of items) {
        if (!list.querySelector(`[data-id="${n.id}"]`)) list.append(notificationItem(n));
      }
      return;
    }
    for (const n of [...items].reverse()) {
      const existing = list.querySelector(`[data-id="${n.id}"]`);
      if (existing && n.read) continue;
      existing?.remove();
      list.prepend(notificationItem(n));
    }
  }

  async function load(append) {
    const query = append && cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const result = await api(`/api/v1/notifications${query}`);
    merge(result.items, append);
    if (append || cursor === null) {
      cursor = result.next_cursor;
      more.hidden = !cursor;
    }
    spinner.hidden = true;
    list.setAttribute("aria-busy", "false");
    empty.hidden = list.children.length > 0;
    showFresh();
    if (result.unread_count > 0) await markRead();
    else setBadge(0);
  }

  more.addEventListener("click", () => queue(() => load(true)));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && unseen) {
      unseen = 0;
      queue(markRead);
    }
  });
  queue(() => load(true));
  return {
    onUnread(count) {
      if (count > 0) queue(() => load(false));
    },
  };
}

const inbox = page ? inboxPage() : null;

// --- the live stream --------------------------------------------------------------------------

let source = null;

function connect() {
  if (source || !("EventSource" in window)) return;
  source = new EventSource("/api/v1/notifications/stream");
  source.addEventListener("unread", (event) => {
    let count = 0;
    try {
      count = Number(JSON.parse(event.data).unread_count) || 0;
    } catch {
      return;
    }
    setBadge(count);
    if (inbox && count > 0) inbox.onUnread(count);
  });
}

function disconnect() {
  source?.close();
  source = null;
}

// Closing on pagehide keeps the page eligible for the back/forward cache; reopen on return.
window.addEventListener("pagehide", disconnect);
window.addEventListener("pageshow", (event) => {
  if (event.persisted) connect();
});
connect();
