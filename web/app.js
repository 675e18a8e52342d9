// The page's whole logic: plain JavaScript, no build step, talking to the JSON API with a Bearer token.
// Tokens live in sessionStorage (this tab only). An access token that the API calls expired
// (401 token_expired) is renewed once with the refresh token, and the request is sent again.
"use strict";

const $ = (id) => document.getElementById(id);
const KEYS = { access: "cbx.access", refresh: "cbx.refresh" };
const state = { cursor: null, playerUrl: null, refreshing: null };

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const tokens = {
  get access() { return sessionStorage.getItem(KEYS.access); },
  get refresh() { return sessionStorage.getItem(KEYS.refresh); },
  save(pair) {
    sessionStorage.setItem(KEYS.access, pair.access_token);
    sessionStorage.setItem(KEYS.refresh, pair.refresh_token);
  },
  clear() {
    sessionStorage.removeItem(KEYS.access);
    sessionStorage.removeItem(KEYS.refresh);
  },
};

function setStatus(message) {
  $("status").textContent = message;
  if (message) $("error").textContent = "";
}

function setError(message) {
  $("error").textContent = message;
  $("status").textContent = "";
}

async function readError(response) {
  try {
    const body = await response.json();
    if (body && body.error) return new ApiError(response.status, body.error.code, body.error.message);
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`);
}

// One refresh at a time, shared by every request that found its token expired.
function renewTokens() {
  if (!state.refreshing) {
    state.refreshing = (async () => {
      const refresh = tokens.refresh;
      if (!refresh) return false;
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refresh }),
      });
      if (!response.ok) return false;
      tokens.save(await response.json());
      return true;
    })().finally(() => { state.refreshing = null; });
  }
  return state.refreshing;
}

async function api(path, { method = "GET", json, form, auth = true, raw = false, retried = false } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (auth && tokens.access) headers.Authorization = `Bearer ${tokens.access}`;
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) {
    const error = await readError(response);
    if (response.status === 401 && auth && !retried && error.code === "token_expired" && await renewTokens()) {
      return api(path, { method, json, form, auth, raw, retried: true });
    }
    if (response.status === 401 && auth) showSignedOut("Your session has ended; please log in again.");
    throw error;
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

function busy(form, on) {
  form.setAttribute("aria-busy", on ? "true" : "false");
  for (const button of form.querySelectorAll("button")) button.disabled = on;
}

async function guarded(form, work) {
  busy(form, true);
  try {
    await work();
  } catch (error) {
    setError(error.message || String(error));
  } finally {
    busy(form, false);
  }
}

// -- signing in and out ---------------------------------------------------------------------------
function showSignedOut(message) {
  tokens.clear();
  $("workspace").hidden = true;
  $("whoami").hidden = true;
  $("auth").hidden = false;
  if (message) setError(message);
}

async function showSignedIn() {
  const profile = await api("/profile");
  $("username").textContent = profile.username;
  $("auth").hidden = true;
  $("whoami").hidden = false;
  $("workspace").hidden = false;
  await Promise.all([loadVoices(), loadHistory(true)]);
}

async function logIn(username, password) {
  tokens.save(await api("/auth/login", { method: "POST", json: { username, password }, auth: false }));
  await showSignedIn();
  setStatus(`Logged in as ${username}.`);
  $("text").focus();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  guarded(form, () => logIn($("login-username").value.trim(), $("login-password").value));
});

$("register-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  guarded(form, async () => {
    const username = $("register-username").value.trim();
    const password = $("register-password").value;
    await api("/auth/register", {
      method: "POST",
      auth: false,
      json: { username, email: $("register-email").value.trim(), password, full_name: null },
    });
    await logIn(username, password);
  });
});

$("logout").addEventListener("click", async () => {
  const refresh = tokens.refresh;
  if (refresh) {
    await fetch("/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    }).catch(() => undefined);
  }
  showSignedOut();
  setStatus("Logged out.");
  $("login-username").focus();
});

// -- voices ---------------------------------------------------------------------------------------
async function loadVoices() {
  const listing = await api("/voices");
  const select = $("voice");
  const chosen = select.value;
  select.replaceChildren();
  const list = $("voice-list");
  list.replaceChildren();
  $("voices-title").textContent = `Voices (${listing.builtin} built in, ${listing.custom} yours)`;
  for (const voice of listing.voices) {
    const option = new Option(voice.available ? voice.name : `${voice.name} (needs a cloning engine)`, voice.id);
    option.disabled = !voice.available;
    select.append(option);
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = `${voice.name} · ${voice.kind}${voice.available ? "" : " · not available on this engine"}`;
    item.append(label);
    if (voice.kind === "custom") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete voice ${voice.name}`);
      remove.addEventListener("click", () => deleteVoice(voice));
      item.append(remove);
    }
    list.append(item);
  }
  if ([...select.options].some((o) => o.value === chosen && !o.disabled)) select.value = chosen;
  if (!listing.can_clone) {
    $("voice-form").querySelector("h3").textContent = `Make a voice from a clip (stored; engine ${listing.engine} cannot speak with it)`;
  }
}

async function deleteVoice(voice) {
  try {
    const deleted = await api(`/voices/${encodeURIComponent(voice.id)}`, { method: "DELETE" });
    setStatus(deleted.message);
    await loadVoices();
  } catch (error) {
    setError(error.message);
  }
}

$("voice-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  guarded(form, async () => {
    const file = $("voice-file").files[0];
    if (!file) throw new Error("Choose an audio clip first.");
    const data = new FormData();
    data.append("name", $("voice-name").value.trim() || file.name);
    data.append("file", file, file.name);
    setStatus("Uploading the clip…");
    const created = await api("/voices", { method: "POST", form: data });
    form.reset();
    setStatus(created.message);
    await loadVoices();
  });
});

// -- speaking and playing -------------------------------------------------------------------------
async function fetchAudio(audioId) {
  const response = await api(`/audio/${encodeURIComponent(audioId)}`, { raw: true });
  return response.blob();
}

async function play(meta) {
  const blob = await fetchAudio(meta.audio_id);
  if (state.playerUrl) URL.revokeObjectURL(state.playerUrl);
  state.playerUrl = URL.createObjectURL(blob);
  const player = $("player");
  player.src = state.playerUrl;
  player.dataset.audioId = meta.audio_id;
  $("now-playing").textContent = `“${meta.text}” · ${meta.duration.toFixed(1)} s · ${meta.format}`;
  player.load();
  try {
    await player.play();
  } catch (_) { /* autoplay refused: the controls are there */ }
}

function updateCount() {
  const text = $("text");
  $("text-count").textContent = `${text.value.length} / ${text.maxLength} characters`;
}

$("text").addEventListener("input", updateCount);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("speak-form").requestSubmit();
});
$("speed").addEventListener("input", () => { $("speed-value").textContent = Number($("speed").value).toFixed(1); });

$("speak-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  guarded(form, async () => {
    const text = $("text").value.trim();
    if (!text) throw new Error("Type some text first.");
    setStatus("Synthesizing…");
    const meta = await api("/synthesize", {
      method: "POST",
      json: { text, voice_id: $("voice").value || null, format: $("format").value, speed: Number($("speed").value) },
    });
    await play(meta);
    setStatus(`Ready: ${meta.duration.toFixed(1)} seconds of audio.`);
    await loadHistory(true);
  });
});

// -- history --------------------------------------------------------------------------------------
function historyItem(meta) {
  const item = document.createElement("li");
  item.dataset.audioId = meta.audio_id;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = meta.text.length > 80 ? `${meta.text.slice(0, 80)}…` : meta.text;
  const info = document.createElement("small");
  info.textContent = `${meta.duration.toFixed(1)} s · ${meta.format} · ${new Date(meta.created_at).toLocaleString()}`;
  const actions = document.createElement("span");
  actions.className = "actions";
  for (const [label, handler] of [["Play", () => play(meta)], ["Download", () => download(meta)], ["Delete", () => remove(meta, item)]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = label === "Play" ? "" : "secondary";
    button.textContent = label;
    button.setAttribute("aria-label", `${label}: ${text.textContent}`);
    button.addEventListener("click", () => handler().catch((error) => setError(error.message)));
    actions.append(button);
  }
  item.append(text, info, actions);
  return item;
}

async function loadHistory(reset) {
  if (reset) state.cursor = null;
  const query = new URLSearchParams({ limit: "10" });
  if (state.cursor) query.set("cursor", state.cursor);
  const page = await api(`/audio?${query}`);
  const list = $("history");
  if (reset) list.replaceChildren();
  for (const meta of page.items) list.append(historyItem(meta));
  if (!list.children.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "Nothing yet: synthesize something above.";
    list.append(empty);
  }
  state.cursor = page.next_cursor;
  $("more").hidden = !state.cursor;
}

async function download(meta) {
  const url = URL.createObjectURL(await fetchAudio(meta.audio_id));
  const link = document.createElement("a");
  link.href = url;
  link.download = `${meta.audio_id}.${meta.format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function remove(meta, item) {
  await api(`/audio/${encodeURIComponent(meta.audio_id)}`, { method: "DELETE" });
  item.remove();
  setStatus("Deleted from history.");
  if (!$("history").children.length) await loadHistory(true);
}

$("more").addEventListener("click", () => loadHistory(false).catch((error) => setError(error.message)));

// -- start ----------------------------------------------------------------------------------------
updateCount();
if (tokens.access) {
  showSignedIn().catch(() => showSignedOut());
} else {
  showSignedOut();
}
