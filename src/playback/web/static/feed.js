// The home feed: full-screen vertical slides that snap, play one at a time, and report how long
// each was really watched. For You and Following tabs; likes, follows, comments, saves, shares.
import { api, timeAgo } from "/static/app.js";

const root = document.getElementById("feed-app");
const feedEl = root.querySelector("[data-testid=feed]");
const stateEl = root.querySelector("[data-testid=feed-state]");
const drawer = root.querySelector("[data-testid=comments-drawer]");
const backdrop = root.querySelector("[data-role=backdrop]");
const loginSheet = root.querySelector("[data-testid=login-sheet]");
const toastEl = root.querySelector("[data-testid=toast]");
const soundButton = root.querySelector("[data-testid=sound-button]");
const template = document.getElementById("slide-template");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const viewer = root.dataset.viewer || null;

const ACTIVE_RATIO = 0.6; // a slide plays once this much of it is on screen
const PREFETCH_FROM_END = 3; // load the next page when the viewer reaches the last 3 slides
const LOADED_BEHIND = 2; // slides that keep their video source around the active one
const LOADED_AHEAD = 3;
const DOUBLE_TAP_MS = 300;
const MAX_TICK_SECONDS = 4; // a longer jump between two time updates is a seek, not watching
const SOUND_KEY = "pb_sound";
const SOURCES = { for_you: "for_you", following: "following" };
const ENDPOINTS = { for_you: "/api/v1/feeds/for-you", following: "/api/v1/feeds/following" };
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const state = {
  tab: root.dataset.tab === "following" ? "following" : "for_you",
  cursor: null,
  loading: false,
  done: false,
  generation: 0, // bumps on every tab switch so late answers for the old tab are dropped
  slides: [],
  ids: new Set(),
  active: null,
  soundOn: sessionStorage.getItem(SOUND_KEY) === "on",
};
const slideOf = new WeakMap();

// --- small helpers ----------------------------------------------------------------------------

/** 1234 → 1.2K, as the profile page shows counts. */
function compact(value) {
  const n = Number(value) || 0;
  for (const [size, suffix] of [[1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (n >= size) return `${(n / size).toFixed(1).replace(/\.0$/, "")}${suffix}`;
  }
  return String(n);
}


const plural = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
const loginUrl = () => `/login?next=${location.pathname}`;

// Mentions link to profiles, hashtags to their pages.
const TOKEN_RE =
  /(?<![\p{L}\p{N}_@.])@([A-Za-z0-9._]{2,24})(?![A-Za-z0-9_])|(?<![\p{L}\p{N}_#])#([\p{L}\p{N}_]{1,100})/gu;

/** A caption or comment as DOM nodes (never innerHTML): text, @mention and #hashtag links. */
function richText(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TOKEN_RE)) {
    out.append(text.slice(last, match.index));
    if (match[1]) {
      const a = document.createElement("a");
      a.href = `/@${match[1].toLowerCase()}`;
      a.textContent = match[0];
      out.append(a);
    } else {
      const tag = document.createElement("a");
      tag.className = "hashtag";
      tag.href = `/tag/${encodeURIComponent(match[2].normalize("NFKC").toLowerCase())}`;
      tag.textContent = match[0];
      out.append(tag);
    }
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

function avatar(person, className = "avatar") {
  if (person.avatar_url) {
    const img = document.createElement("img");
    img.className = className;
    img.src = person.avatar_url;
    img.alt = "";
    img.loading = "lazy";
    return img;
  }
  const span = document.createElement("span");
  span.className = `${className} placeholder`;
  span.setAttribute("aria-hidden", "true");
  span.textContent = person.handle[0].toUpperCase();
  return span;
}

let toastTimer = null;
function toast(message) {
  toastEl.textContent = message;
  toastEl.hidden = false;
  toastEl.classList.remove("show");
  void toastEl.offsetWidth; // restart the animation
  toastEl.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastEl.hidden = true; }, 2200);
}

function showError(error) {
  toast(error?.status === 0 || !error?.message ? "Something went wrong. Try again." : error.message);
}

// --- log-in prompt ------------------------------------------------------------------------------

let sheetReturnFocus = null;
function askToLogIn(reason) {
  loginSheet.querySelector("[data-role=reason]").textContent = reason;
  for (const link of loginSheet.querySelectorAll("a[href^='/login']")) link.href = loginUrl();
  sheetReturnFocus = document.activeElement;
  loginSheet.hidden = false;
  backdrop.hidden = false;
  loginSheet.querySelector("[data-testid=login-sheet-link]").focus();
}

function closeLoginSheet() {
  loginSheet.hidden = true;
  if (drawer.hidden) backdrop.hidden = true;
  sheetReturnFocus?.focus?.();
}
loginSheet.querySelector("[data-role=close]").addEventListener("click", closeLoginSheet);

// --- sound --------------------------------------------------------------------------------------

function setSound(on) {
  state.soundOn = on;
  sessionStorage.setItem(SOUND_KEY, on ? "on" : "off");
  soundButton.setAttribute("aria-pressed", String(on));
  soundButton.classList.toggle("on", on);
  if (state.active) state.active.video.muted = !on;
}
soundButton.addEventListener("click", () => {
  setSound(!state.soundOn);
  const s = state.active;
  if (s && !s.userPaused && s.video.paused) play(s);
});
setSound(state.soundOn);

// --- playback and watch time ----------------------------------------------------------------

function play(s) {
  const video = s.video;
  if (!video.getAttribute("src")) video.src = s.data.video_url;
  video.muted = !state.soundOn;
  const attempt = video.play();
  attempt?.catch((error) => {
    if (error.name === "NotAllowedError" && !video.muted) {
      // The browser refuses sound before the first gesture: play muted instead.
      setSound(false);
      if (s === state.active) video.play().catch(() => {});
    }
  });
}

/** Add the media time played since the last tick; a wrap-around is a loop (loops count). */
function tick(s) {
  const now = s.video.currentTime;
  if (s.lastTime !== null) {
    let delta = now - s.lastTime;
    if (delta < 0 && Number.isFinite(s.video.duration)) delta += s.video.duration;
    if (delta > 0 && delta < MAX_TICK_SECONDS) s.watchedMs += delta * 1000;
  }
  s.lastTime = now;
}

/** Report the stretch just watched (if any). keepalive lets it outlive the page. */
function flushWatch(s) {
  if (s === state.active) tick(s);
  const watched = Math.round(s.watchedMs);
  s.watchedMs = 0;
  if (watched <= 0) return;
  fetch(`/api/v1/videos/${s.data.id}/views`, {
    method: "POST",
    keepalive: true,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ watched_ms: watched, source: s.source }),
  }).catch(() => {});
}

function syncSources(index) {
  state.slides.forEach((s, i) => {
    const near = i >= index - LOADED_BEHIND && i <= index + LOADED_AHEAD;
    const video = s.video;
    if (near && !video.getAttribute("src")) {
      video.src = s.data.video_url;
    } else if (!near && video.getAttribute("src") && Math.abs(i - index) > LOADED_AHEAD * 2) {
      // Far away: free the decoder (phones allow only a few players at once); poster stays.
      video.removeAttribute("src");
      video.load();
    }
    const preload = i === index + 1 ? "auto" : "metadata";
    if (video.preload !== preload) video.preload = preload;
  });
}

function activate(s) {
  if (state.active === s) return;
  if (state.active) deactivate(state.active);
  state.active = s;
  const index = state.slides.indexOf(s);
  s.el.classList.add("is-active");
  s.el.classList.remove("is-paused");
  s.userPaused = false;
  s.lastTime = null;
  syncSources(index);
  if (!document.hidden) play(s);
  if (index >= state.slides.length - PREFETCH_FROM_END) loadMore();
}

function deactivate(s) {
  s.video.pause();
  flushWatch(s);
  s.lastTime = null;
  s.el.classList.remove("is-active", "is-paused");
  clearTimeout(s.tapTimer);
  if (s.video.readyState > 0) s.video.currentTime = 0; // coming back starts it over
  if (state.active === s) state.active = null;
}

function togglePause(s) {
  if (s !== state.active) return;
  if (s.video.paused) {
    s.userPaused = false;
    s.el.classList.remove("is-paused");
    play(s);
  } else {
    s.userPaused = true;
    s.el.classList.add("is-paused");
    s.video.pause();
  }
}

const observer = new IntersectionObserver(
  (entries) => {
    // Leaving first, then arriving, so a batch that holds both ends with the right one active.
    for (const entry of entries) {
      const s = slideOf.get(entry.target);
      if (s && s === state.active && entry.intersectionRatio < ACTIVE_RATIO) deactivate(s);
    }
    for (const entry of entries) {
      const s = slideOf.get(entry.target);
      if (s && entry.isIntersecting && entry.intersectionRatio >= ACTIVE_RATIO) activate(s);
    }
  },
  { root: feedEl, threshold: [0, ACTIVE_RATIO, 1] },
);

document.addEventListener("visibilitychange", () => {
  const s = state.active;
  if (!s) return;
  if (document.hidden) {
    s.video.pause();
    flushWatch(s);
  } else if (!s.userPaused) {
    s.lastTime = null;
    play(s);
  }
});
window.addEventListener("pagehide", () => {
  if (state.active) flushWatch(state.active);
});
window.addEventListener("pageshow", (event) => {
  const s = state.active;
  if (event.persisted && s && !s.userPaused) {
    s.lastTime = null;
    play(s);
  }
});

// --- slides -----------------------------------------------------------------------------------

function renderCounts(s) {
  const { stats, me } = s.data;
  const q = (id) => s.el.querySelector(`[data-testid=${id}]`);
  // A creator may hide their like counts from others: the heart stays, without a number.
  const likesHidden = stats.likes_hidden || stats.likes === null;
  q("like-count").textContent = likesHidden ? "" : compact(stats.likes);
  q("like-count").hidden = likesHidden;
  q("comment-count").textContent = compact(stats.comments);
  q("save-count").textContent = compact(stats.saves);
  q("share-count").textContent = compact(stats.shares);
  const like = q("like-button");
  like.setAttribute("aria-pressed", String(Boolean(me.liked)));
  like.setAttribute("aria-label", likesHidden ? "Like" : `Like, ${plural(stats.likes, "like")}`);
  const save = q("save-button");
  save.setAttribute("aria-pressed", String(Boolean(me.saved)));
  save.setAttribute("aria-label", `Save to favourites, ${plural(stats.saves, "save")}`);
  q("comments-button").setAttribute("aria-label", `Comments, ${plural(stats.comments, "comment")}`);
  q("share-button").setAttribute("aria-label", `Share, ${plural(stats.shares, "share")}`);
}

function renderFollow(s) {
  const button = s.el.querySelector("[data-testid=follow-button]");
  const handle = s.data.creator.handle;
  const status = s.data.me.following_creator;
  const own = viewer !== null && viewer === handle;
  button.hidden = own || status === "accepted";
  button.classList.toggle("pending", status === "pending");
  button.disabled = status === "pending";
  button.querySelector("[data-role=follow-label]").textContent = status === "pending" ? "Requested" : "";
  button.setAttribute(
    "aria-label",
    status === "pending" ? `Follow request sent to @${handle}` : `Follow @${handle}`,
  );
}

/** The sound credit, the video this one answers, and the Duet and Stitch buttons. */
function renderSoundAndRemix(s) {
  const { el, data } = s;
  if (data.sound) {
    const line = el.querySelector("[data-role=sound]");
    const credit = document.createElement(data.sound.available ? "a" : "span");
    credit.dataset.testid = "sound-credit";
    if (data.sound.available) {
      credit.href = `/sounds/${data.sound.id}`;
      const { title, artist } = data.sound;
      // An original sound's title names its creator already ("original sound – @maya").
      credit.textContent = artist && !title.endsWith(`@${artist}`) ? `${title} · ${artist}` : title;
    } else {
      credit.className = "unavailable";
      credit.textContent = "Sound unavailable";
    }
    line.append(" ", credit);
    line.hidden = false;
  }
  if (data.remix) {
    const line = el.querySelector("[data-role=remix]");
    const verb = data.remix.kind === "duet" ? "Duet with" : "Stitched from";
    if (data.remix.video_id) {
      const link = document.createElement("a");
      link.href = `/v/${data.remix.video_id}`;
      link.dataset.testid = "remix-link";
      link.textContent = `${verb} @${data.remix.creator_handle}`;
      line.append(link);
    } else {
      line.textContent = `${verb} a video that is no longer available`;
    }
    line.hidden = false;
  }
  const handle = data.creator.handle;
  const duet = el.querySelector("[data-role=duet]");
  duet.hidden = !data.allow_duet;
  duet.href = `/record?duet=${data.id}`;
  duet.setAttribute("aria-label", `Duet with @${handle}`);
  const stitch = el.querySelector("[data-role=stitch]");
  stitch.hidden = !data.allow_stitch;
  stitch.href = `/record?stitch=${data.id}`;
  stitch.setAttribute("aria-label", `Stitch @${handle}’s video`);
}

function buildSlide(data, source, position) {
  const el = template.content.firstElementChild.cloneNode(true);
  const s = {
    el, data, source,
    video: el.querySelector("video"),
    watchedMs: 0, lastTime: null, userPaused: false, lastTapAt: 0, tapTimer: null, likeSeq: 0,
  };
  slideOf.set(el, s);
  el.dataset.videoId = data.id;
  el.setAttribute("aria-posinset", String(position));
  el.setAttribute("aria-label", `Video by @${data.creator.handle}`);
  const video = s.video;
  if (data.poster_url) video.poster = data.poster_url;
  if (data.width && data.height && data.width / data.height > 0.75) el.classList.add("landscape");
  video.setAttribute("aria-label", data.caption ? `Video: ${data.caption}` : `Video by @${data.creator.handle}`);

  const { creator } = data;
  const avatarLink = el.querySelector("[data-role=avatar-link]");
  avatarLink.href = `/@${creator.handle}`;
  avatarLink.setAttribute("aria-label", `@${creator.handle}'s profile`);
  avatarLink.append(avatar(creator, "rail-avatar-img"));
  const handle = el.querySelector("[data-role=handle]");
  handle.href = `/@${creator.handle}`;
  handle.textContent = `@${creator.handle}`;
  if (creator.display_name && creator.display_name !== creator.handle) {
    const name = document.createElement("span");
    name.className = "meta-name";
    name.textContent = creator.display_name;
    handle.append(" ", name);
  }
  el.querySelector("[data-role=caption]").append(richText(data.caption || ""));
  if (data.reasons?.length) {
    const reasons = el.querySelector("[data-role=reasons]");
    reasons.textContent = data.reasons.join(" · ");
    reasons.setAttribute("aria-label", `Why you're seeing this: ${data.reasons.join(", ")}`);
    reasons.hidden = false;
  }
  if (state.tab === "for_you") {
    const notInterested = el.querySelector("[data-role=not-interested]");
    notInterested.hidden = false;
    notInterested.addEventListener("click", () => markNotInterested(s, notInterested));
  }
  renderCounts(s);
  renderFollow(s);
  renderSoundAndRemix(s);

  // Watch time, progress and the paused icon.
  const bar = el.querySelector("[data-role=progress]");
  video.addEventListener("timeupdate", () => {
    if (s === state.active) tick(s);
    if (video.duration) bar.style.transform = `scaleX(${video.currentTime / video.duration})`;
  });
  video.addEventListener("pause", () => { if (s === state.active) tick(s); });
  video.addEventListener("playing", () => { if (s === state.active && s.lastTime === null) s.lastTime = video.currentTime; });

  // Tap pauses or resumes; a double tap likes (and never unlikes), with a heart where it landed.
  el.querySelector("[data-role=stage]").addEventListener("click", (event) => {
    const now = performance.now();
    if (now - s.lastTapAt < DOUBLE_TAP_MS) {
      clearTimeout(s.tapTimer);
      s.tapTimer = null;
      s.lastTapAt = now;
      heartBurst(s, event);
      if (!viewer) askToLogIn("Log in to like videos.");
      else if (!s.data.me.liked) setLike(s, true);
      return;
    }
    s.lastTapAt = now;
    s.tapTimer = setTimeout(() => {
      s.tapTimer = null;
      togglePause(s);
    }, DOUBLE_TAP_MS);
  });

  el.querySelector("[data-testid=like-button]").addEventListener("click", () => {
    if (!viewer) return askToLogIn("Log in to like videos.");
    setLike(s, !s.data.me.liked);
  });
  el.querySelector("[data-testid=save-button]").addEventListener("click", () => {
    if (!viewer) return askToLogIn("Log in to save videos to your favourites.");
    setSave(s, !s.data.me.saved);
  });
  el.querySelector("[data-testid=follow-button]").addEventListener("click", () => {
    if (!viewer) return askToLogIn(`Log in to follow @${creator.handle}.`);
    follow(s);
  });
  el.querySelector("[data-testid=comments-button]").addEventListener("click", () => openComments(s));
  el.querySelector("[data-testid=share-button]").addEventListener("click", () => share(s));

  const more = el.querySelector("[data-role=more]");
  more.addEventListener("click", () => {
    const expanded = el.classList.toggle("caption-open");
    more.textContent = expanded ? "less" : "more";
  });
  return s;
}

function heartBurst(s, event) {
  const box = s.el.getBoundingClientRect();
  const heart = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  heart.setAttribute("viewBox", "0 0 24 24");
  heart.setAttribute("class", "heart-burst");
  heart.setAttribute("aria-hidden", "true");
  heart.dataset.testid = "heart-burst";
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", s.el.querySelector(".like path").getAttribute("d"));
  heart.append(path);
  const x = (event.clientX || box.left + box.width / 2) - box.left;
  const y = (event.clientY || box.top + box.height / 2) - box.top;
  heart.style.left = `${x}px`;
  heart.style.top = `${y}px`;
  heart.style.setProperty("--tilt", `${Math.round(Math.random() * 40 - 20)}deg`);
  heart.addEventListener("animationend", () => heart.remove());
  s.el.append(heart);
  setTimeout(() => heart.remove(), 1500); // in case animations are off
}

function revealCaptionToggles(slides) {
  for (const s of slides) {
    const caption = s.el.querySelector("[data-role=caption]");
    s.el.querySelector("[data-role=more]").hidden = caption.scrollHeight <= caption.clientHeight + 1;
  }
}

// --- actions --------------------------------------------------------------------------------

function slidesOfCreator(handle) {
  return state.slides.filter((x) => x.data.creator.handle === handle);
}

async function setLike(s, liked) {
  const before = { liked: s.data.me.liked, likes: s.data.stats.likes };
  const seq = ++s.likeSeq;
  s.data.me.liked = liked;
  if (before.likes !== null) {
    s.data.stats.likes = Math.max(0, before.likes + (liked === before.liked ? 0 : liked ? 1 : -1));
  }
  renderCounts(s);
  try {
    const result = await api(`/api/v1/videos/${s.data.id}/like`, { method: liked ? "PUT" : "DELETE" });
    if (seq !== s.likeSeq) return;
    s.data.me.liked = result.liked;
    s.data.stats.likes = result.like_count;
    s.data.stats.likes_hidden = result.likes_hidden;
  } catch (error) {
    if (seq !== s.likeSeq) return;
    Object.assign(s.data.me, { liked: before.liked });
    s.data.stats.likes = before.likes;
    showError(error);
  }
  renderCounts(s);
}

async function setSave(s, saved) {
  const before = { saved: s.data.me.saved, saves: s.data.stats.saves };
  s.data.me.saved = saved;
  s.data.stats.saves = Math.max(0, before.saves + (saved ? 1 : -1));
  renderCounts(s);
  try {
    const result = await api(`/api/v1/videos/${s.data.id}/save`, { method: saved ? "PUT" : "DELETE" });
    s.data.me.saved = result.saved;
    s.data.stats.saves = result.save_count;
    if (result.saved) toast("Saved to favourites");
  } catch (error) {
    s.data.me.saved = before.saved;
    s.data.stats.saves = before.saves;
    showError(error);
  }
  renderCounts(s);
}

async function follow(s) {
  const handle = s.data.creator.handle;
  const button = s.el.querySelector("[data-testid=follow-button]");
  button.disabled = true;
  try {
    const via = `?video_id=${encodeURIComponent(s.data.id)}`; // the video that won the follower
    const result = await api(`/api/v1/users/${encodeURIComponent(handle)}/follow${via}`, { method: "PUT" });
    for (const other of slidesOfCreator(handle)) {
      other.data.me.following_creator = result.status;
      renderFollow(other);
    }
    toast(result.status === "pending" ? `Follow request sent to @${handle}` : `Following @${handle}`);
  } catch (error) {
    showError(error);
    renderFollow(s);
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.cssText = "position:fixed;opacity:0;top:0;left:0";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    return ok;
  }
}

// "Not interested": the video never comes back and videos like it sink; on to the next one.
async function markNotInterested(s, button) {
  button.disabled = true;
  try {
    await api(`/api/v1/videos/${s.data.id}/not-interested`, { method: "PUT" });
  } catch (error) {
    button.disabled = false;
    return;
  }
  button.textContent = "Got it: fewer videos like this";
  feedEl.scrollBy({ top: feedEl.clientHeight, behavior: reducedMotion ? "auto" : "smooth" });
}

async function share(s) {
  const url = s.data.share_url;
  let channel = null;
  if (navigator.share) {
    try {
      await navigator.share({ url, title: `@${s.data.creator.handle} on Playback`, text: s.data.caption });
      channel = "native";
    } catch (error) {
      if (error.name === "AbortError") return; // the viewer closed the share sheet
    }
  }
  if (channel === null) {
    channel = "copy";
    if (await copyText(url)) toast("Link copied");
    else toast(url);
  }
  try {
    const result = await api(`/api/v1/videos/${s.data.id}/shares`, { method: "POST", body: { channel } });
    s.data.stats.shares = result.share_count;
    renderCounts(s);
  } catch {
    // The link was shared either way; the count catches up on the next load.
  }
}

// --- comments drawer --------------------------------------------------------------------------

const commentList = drawer.querySelector("[data-testid=comment-list]");
const commentForm = drawer.querySelector("[data-testid=comment-form]");
const commentInput = drawer.querySelector("[data-testid=comment-input]");
const commentCounter = drawer.querySelector("[data-testid=comment-counter]");
const commentSubmit = drawer.querySelector("[data-testid=comment-submit]");
const commentError = drawer.querySelector("[data-testid=comment-error]");
const replyingEl = drawer.querySelector("[data-role=replying]");
const commentsOff = drawer.querySelector("[data-role=comments-off]");
const moreComments = drawer.querySelector("[data-role=more]");
const drawerSpinner = drawer.querySelector("[data-role=spinner]");
const drawerEmpty = drawer.querySelector("[data-role=empty]");
const comments = { slide: null, cursor: null, replyTo: null, returnFocus: null, generation: 0 };

function renderDrawerCount() {
  const n = comments.slide?.data.stats.comments ?? 0;
  drawer.querySelector("[data-role=count]").textContent = n.toLocaleString();
  drawer.querySelector("[data-role=noun]").textContent = n === 1 ? "comment" : "comments";
  drawerEmpty.hidden = n > 0 || commentList.children.length > 0 || !drawerSpinner.hidden;
}

function bumpComments(s, delta) {
  s.data.stats.comments = Math.max(0, s.data.stats.comments + delta);
  renderCounts(s);
  renderDrawerCount();
}

function commentItem(c) {
  const s = comments.slide;
  const li = document.createElement("li");
  li.className = "comment";
  li.dataset.testid = "comment";
  li.dataset.id = c.id;
  const link = document.createElement("a");
  link.href = `/@${c.author.handle}`;
  link.className = "comment-avatar";
  link.setAttribute("aria-label", `@${c.author.handle}`);
  link.append(avatar(c.author, "comment-avatar-img"));

  const body = document.createElement("div");
  body.className = "comment-body";
  const who = document.createElement("a");
  who.href = `/@${c.author.handle}`;
  who.className = "comment-handle";
  who.textContent = c.author.handle;
  if (c.author.handle === s.data.creator.handle) {
    const badge = document.createElement("span");
    badge.className = "creator-badge";
    badge.textContent = "Creator";
    who.append(" ", badge);
  }
  const text = document.createElement("p");
  text.className = "comment-text";
  text.dataset.testid = "comment-text";
  text.append(richText(c.text));
  const actions = document.createElement("div");
  actions.className = "comment-actions";
  const time = document.createElement("time");
  time.dateTime = c.created_at;
  time.textContent = timeAgo(c.created_at);
  actions.append(time);
  if (viewer && commentForm) {
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "link-button";
    reply.textContent = "Reply";
    reply.setAttribute("aria-label", `Reply to @${c.author.handle}`);
    reply.addEventListener("click", () => startReply(c));
    actions.append(reply);
  }
  if (viewer && (viewer === c.author.handle || viewer === s.data.creator.handle)) {
    const del = document.createElement("button");
    del.type = "button";
    del.className = "link-button danger";
    del.dataset.testid = "comment-delete";
    del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete comment by @${c.author.handle}`);
    del.addEventListener("click", () => deleteComment(c, li));
    actions.append(del);
  }
  body.append(who, text, actions);

  if (!c.parent_id) {
    const replies = document.createElement("ol");
    replies.className = "replies";
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link-button replies-toggle";
    toggle.hidden = c.reply_count === 0;
    toggle.textContent = `View ${plural(c.reply_count, "reply", "replies")}`;
    toggle.addEventListener("click", () => loadReplies(c, li, toggle));
    body.append(replies, toggle);
  }

  const like = document.createElement("button");
  like.type = "button";
  like.className = "comment-like";
  like.setAttribute("aria-pressed", String(c.liked_by_me));
  const likeIcon = s.el.querySelector(".like svg").cloneNode(true);
  const likeCount = document.createElement("span");
  const renderLike = () => {
    like.setAttribute("aria-pressed", String(c.liked_by_me));
    like.setAttribute("aria-label", `Like comment, ${plural(c.like_count, "like")}`);
    likeCount.textContent = c.like_count ? compact(c.like_count) : "";
  };
  renderLike();
  like.append(likeIcon, likeCount);
  like.addEventListener("click", async () => {
    if (!viewer) return askToLogIn("Log in to like comments.");
    const liked = !c.liked_by_me;
    try {
      const r = await api(`/api/v1/comments/${c.id}/like`, { method: liked ? "PUT" : "DELETE" });
      c.liked_by_me = r.liked;
      c.like_count = r.like_count;
      renderLike();
    } catch (error) {
      showError(error);
    }
  });
  li.append(link, body, like);
  li._comment = c;
  return li;
}

async function loadComments() {
  const s = comments.slide;
  const generation = comments.generation;
  drawerSpinner.hidden = false;
  moreComments.hidden = true;
  renderDrawerCount();
  const query = comments.cursor ? `?cursor=${encodeURIComponent(comments.cursor)}` : "";
  try {
    const page = await api(`/api/v1/videos/${s.data.id}/comments${query}`);
    if (generation !== comments.generation) return;
    for (const c of page.items) {
      if (!commentList.querySelector(`[data-id="${c.id}"]`)) commentList.append(commentItem(c));
    }
    comments.cursor = page.next_cursor;
    moreComments.hidden = !page.next_cursor;
  } catch (error) {
    if (generation === comments.generation) showError(error);
  } finally {
    if (generation === comments.generation) {
      drawerSpinner.hidden = true;
      renderDrawerCount();
    }
  }
}

async function loadReplies(parent, li, toggle) {
  const list = li.querySelector(".replies");
  const cursor = toggle.dataset.cursor;
  toggle.disabled = true;
  try {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api(`/api/v1/comments/${parent.id}/replies${query}`);
    for (const r of page.items) {
      if (!list.querySelector(`[data-id="${r.id}"]`)) list.append(commentItem(r));
    }
    toggle.dataset.cursor = page.next_cursor ?? "";
    toggle.hidden = !page.next_cursor;
    toggle.textContent = "View more replies";
  } catch (error) {
    showError(error);
  } finally {
    toggle.disabled = false;
  }
}

function openComments(s) {
  comments.slide = s;
  comments.cursor = null;
  comments.generation += 1;
  comments.returnFocus = document.activeElement;
  commentList.replaceChildren();
  cancelReply();
  if (commentForm) {
    const allowed = s.data.allow_comments !== false;
    commentForm.hidden = !allowed;
    commentsOff.hidden = allowed;
    commentError.hidden = true;
  }
  drawer.hidden = false;
  backdrop.hidden = false;
  requestAnimationFrame(() => drawer.classList.add("open"));
  drawer.querySelector("[data-role=close]").focus({ preventScroll: true });
  renderDrawerCount();
  loadComments();
}

function closeComments() {
  drawer.classList.remove("open");
  comments.generation += 1;
  const finish = () => {
    drawer.hidden = true;
    if (loginSheet.hidden) backdrop.hidden = true;
  };
  if (reducedMotion) finish();
  else setTimeout(finish, 200);
  comments.returnFocus?.focus?.({ preventScroll: true });
}

function startReply(c) {
  // Replies hang off the top-level comment; replying to a reply mentions its author.
  const parentId = c.parent_id ?? c.id;
  comments.replyTo = { parentId, handle: c.author.handle };
  replyingEl.hidden = false;
  replyingEl.querySelector("[data-role=reply-handle]").textContent = `@${c.author.handle}`;
  if (c.parent_id && !commentInput.value.includes(`@${c.author.handle}`)) {
    commentInput.value = `@${c.author.handle} ${commentInput.value}`.slice(0, commentInput.maxLength);
  }
  updateCounter();
  commentInput.focus();
}

function cancelReply() {
  comments.replyTo = null;
  if (replyingEl) replyingEl.hidden = true;
}

function updateCounter() {
  if (!commentInput) return;
  const length = commentInput.value.length;
  commentCounter.textContent = `${length}/${commentInput.maxLength}`;
  commentCounter.classList.toggle("near", length > commentInput.maxLength - 15);
  commentSubmit.disabled = commentInput.value.trim().length === 0;
}

async function deleteComment(c, li) {
  if (!confirm("Delete this comment?")) return;
  try {
    await api(`/api/v1/comments/${c.id}`, { method: "DELETE" });
  } catch (error) {
    return showError(error);
  }
  const s = comments.slide;
  const parentLi = li.parentElement.closest(".comment");
  li.remove();
  if (parentLi?._comment) parentLi._comment.reply_count = Math.max(0, parentLi._comment.reply_count - 1);
  bumpComments(s, -(1 + (c.parent_id ? 0 : c.reply_count)));
}

drawer.querySelector("[data-role=close]").addEventListener("click", closeComments);
moreComments.addEventListener("click", loadComments);
backdrop.addEventListener("click", () => {
  if (!loginSheet.hidden) closeLoginSheet();
  else if (!drawer.hidden) closeComments();
});

if (commentForm) {
  commentInput.addEventListener("input", updateCounter);
  drawer.querySelector("[data-role=cancel-reply]").addEventListener("click", () => {
    cancelReply();
    commentInput.focus();
  });
  commentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const s = comments.slide;
    const text = commentInput.value.trim();
    if (!s || !text) return;
    commentSubmit.disabled = true;
    commentError.hidden = true;
    const body = { text };
    if (comments.replyTo) body.parent_id = comments.replyTo.parentId;
    try {
      const c = await api(`/api/v1/videos/${s.data.id}/comments`, { method: "POST", body });
      if (c.parent_id) {
        const parentLi = commentList.querySelector(`[data-id="${c.parent_id}"]`);
        parentLi?.querySelector(".replies").append(commentItem(c));
        if (parentLi?._comment) parentLi._comment.reply_count += 1;
      } else {
        commentList.prepend(commentItem(c));
        drawer.querySelector("[data-role=scroller]").scrollTop = 0;
      }
      commentInput.value = "";
      cancelReply();
      bumpComments(s, 1);
    } catch (error) {
      commentError.textContent = error.message || "Could not post your comment.";
      commentError.hidden = false;
    } finally {
      updateCounter();
    }
  });
  updateCounter();
}

// --- loading pages ----------------------------------------------------------------------------

function showState(kind) {
  const empty = stateEl.querySelector("[data-role=empty]");
  const spinner = stateEl.querySelector("[data-role=spinner]");
  stateEl.hidden = kind === null;
  spinner.hidden = kind !== "loading";
  empty.hidden = kind === null || kind === "loading";
  if (kind === null || kind === "loading") return;
  const action = empty.querySelector("[data-role=action]");
  const texts = {
    "no-videos": ["No videos yet", "Nothing to watch here yet. Be the first to post one.", "Post a video", "/upload"],
    "no-following": viewer
      ? ["Your Following feed is empty", "Follow someone to fill your Following feed with their videos.", "Find people on For You", "/"]
      : ["Watch the people you follow", "Log in to see videos from the accounts you follow.", "Log in", loginUrl()],
    error: ["Couldn't load videos", "Check your connection and try again.", "Try again", location.pathname],
  };
  const [title, text, label, href] = texts[kind];
  empty.dataset.kind = kind;
  empty.querySelector("[data-role=title]").textContent = title;
  empty.querySelector("[data-role=text]").textContent = text;
  action.textContent = label;
  action.href = href;
}

function appendEnd() {
  const end = document.createElement("div");
  end.className = "feed-end";
  end.dataset.testid = "feed-end";
  const title = document.createElement("p");
  title.textContent = "You're all caught up";
  const text = document.createElement("p");
  text.className = "muted";
  text.textContent =
    state.tab === "following" ? "Find more creators on For You." : "Check back soon for new videos.";
  end.append(title, text);
  feedEl.append(end);
}

// --- the break screen (daily screen-time limit) ------------------------------------------------

const breakEl = root.querySelector("[data-testid=break-screen]");
const unlockForm = breakEl.querySelector("[data-role=unlock]");

function showBreak(info) {
  if (state.active) deactivate(state.active);
  breakEl.querySelector("[data-role=used]").textContent =
    `You've watched for ${plural(info.used_minutes, "minute")} today; your daily limit is ${plural(info.limit_minutes, "minute")}.`;
  breakEl.querySelector("[data-role=ask]").textContent = info.has_passcode
    ? "Enter your passcode to keep watching today"
    : "Choose a passcode (4 to 6 digits) to keep watching today";
  breakEl.hidden = false;
  unlockForm.elements.passcode.focus();
}

unlockForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = unlockForm.querySelector("[data-role=error]");
  error.hidden = true;
  try {
    await api("/api/v1/me/screen-time/unlock", {
      method: "POST",
      body: { passcode: unlockForm.elements.passcode.value },
    });
  } catch (failure) {
    error.textContent = failure.message || "That is not your passcode.";
    error.hidden = false;
    return;
  }
  unlockForm.reset();
  breakEl.hidden = true;
  state.done = false;
  loadMore();
});

async function loadMore() {
  if (state.loading || state.done) return;
  if (state.tab === "following" && !viewer) {
    state.done = true;
    feedEl.setAttribute("aria-busy", "false");
    showState("no-following");
    return;
  }
  state.loading = true;
  const generation = state.generation;
  const first = state.slides.length === 0;
  if (first) showState("loading");
  feedEl.setAttribute("aria-busy", "true");
  const query = state.cursor ? `?cursor=${encodeURIComponent(state.cursor)}` : "";
  try {
    const page = await api(`${ENDPOINTS[state.tab]}${query}`);
    if (generation !== state.generation) return;
    if (page.break_screen) {
      state.done = true;
      if (first) showState(null);
      showBreak(page.break_screen);
      return;
    }
    const added = [];
    for (const item of page.items) {
      if (state.ids.has(item.id) || !item.video_url) continue;
      state.ids.add(item.id);
      const s = buildSlide(item, SOURCES[state.tab], state.slides.length + 1);
      state.slides.push(s);
      added.push(s);
      feedEl.append(s.el);
      observer.observe(s.el);
    }
    state.cursor = page.next_cursor;
    state.done = !page.next_cursor || page.items.length === 0;
    if (first) showState(added.length ? null : state.tab === "following" ? "no-following" : "no-videos");
    else if (state.done && state.slides.length) appendEnd();
    if (added.length) {
      revealCaptionToggles(added);
      syncSources(state.active ? state.slides.indexOf(state.active) : 0);
    }
  } catch (error) {
    if (generation !== state.generation) return;
    if (first) showState("error");
    else toast("Couldn't load more videos");
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      feedEl.setAttribute("aria-busy", "false");
      // A short page may leave the viewer near the end already.
      const index = state.active ? state.slides.indexOf(state.active) : -1;
      if (!state.done && index >= state.slides.length - PREFETCH_FROM_END && index >= 0) loadMore();
    }
  }
}

// --- tabs -------------------------------------------------------------------------------------

const tabLinks = root.querySelectorAll(".feed-tabs a");

function switchTab(tab, push) {
  if (tab === state.tab) {
    feedEl.scrollTo({ top: 0, behavior: reducedMotion ? "auto" : "smooth" });
    return;
  }
  if (state.active) deactivate(state.active);
  for (const s of state.slides) {
    observer.unobserve(s.el);
    s.video.removeAttribute("src");
    s.video.load();
  }
  Object.assign(state, {
    tab, cursor: null, loading: false, done: false, slides: [], ids: new Set(), active: null,
  });
  state.generation += 1;
  feedEl.replaceChildren();
  feedEl.scrollTop = 0;
  root.dataset.tab = tab;
  feedEl.setAttribute("aria-label", tab === "following" ? "Following videos" : "For You videos");
  document.title = `${tab === "following" ? "Following" : "For You"} · Playback`;
  for (const link of tabLinks) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (push) history.pushState({ tab }, "", tab === "following" ? "/following" : "/");
  loadMore();
}

for (const link of tabLinks) {
  link.addEventListener("click", (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    switchTab(link.dataset.tab, true);
  });
}
window.addEventListener("popstate", () => {
  const following = location.pathname === "/following" || new URLSearchParams(location.search).get("tab") === "following";
  switchTab(following ? "following" : "for_you", false);
});

// --- keyboard -----------------------------------------------------------------------------------

function go(delta) {
  if (!state.slides.length) return;
  let index = state.active ? state.slides.indexOf(state.active) : -1;
  if (index < 0) index = Math.round(feedEl.scrollTop / feedEl.clientHeight);
  const target = state.slides[Math.min(state.slides.length - 1, Math.max(0, index + delta))];
  // Screen readers follow the focus (the feed pattern); the scroll itself stays smooth.
  if (document.activeElement?.closest?.("[data-testid=slide]")) target.el.focus({ preventScroll: true });
  target.el.scrollIntoView({ behavior: reducedMotion ? "auto" : "smooth", block: "start" });
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (!loginSheet.hidden || !drawer.hidden) {
    if (event.key === "Escape") {
      if (!loginSheet.hidden) closeLoginSheet();
      else closeComments();
    }
    return;
  }
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable]")) return;
  const onControl = target.closest?.("button, a");
  if (["ArrowDown", "PageDown", "j"].includes(event.key)) {
    event.preventDefault();
    go(1);
  } else if (["ArrowUp", "PageUp", "k"].includes(event.key)) {
    event.preventDefault();
    go(-1);
  } else if (event.key === " " && !onControl && state.active) {
    event.preventDefault();
    togglePause(state.active);
  } else if (event.key === "m") {
    soundButton.click();
  }
});

// --- start --------------------------------------------------------------------------------------

loadMore();
