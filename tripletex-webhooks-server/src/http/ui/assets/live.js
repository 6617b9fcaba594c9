// Live updates for the dashboard: each element marked `data-live-region` is
// replaced by its fresh copy from the server whenever the emulator's stream
// (`/_emulator/stream`) reports a delivery attempt or a subscription change.
// The server renders (and escapes) every row; this script only swaps them in.
// Where the stream cannot be had, the page polls instead.
const regions = () => Array.from(document.querySelectorAll("[data-live-region]"));
const POLL_MS = 2000;
let pending = null;
let polling = null;

async function refresh() {
  pending = null;
  try {
    const answer = await fetch(window.location.href, {
      credentials: "same-origin",
      headers: { accept: "text/html" },
    });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const region of regions()) {
      const update = fresh.getElementById(region.id);
      if (!update) continue;
      const focused = document.activeElement && region.contains(document.activeElement)
        ? document.activeElement.id
        : null;
      region.replaceWith(update);
      if (focused) document.getElementById(focused)?.focus();
    }
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (_) {
    // The next event or poll tries again.
  }
}

function soon() {
  if (pending === null) pending = setTimeout(refresh, 150);
}

// A message's page follows only its own message's attempts.
function concerns(event) {
  const only = document.querySelector("[data-live-region][data-delivery-id]");
  if (!only) return true;
  try {
    return String(JSON.parse(event.data).delivery.id) === only.dataset.deliveryId;
  } catch (_) {
    return true;
  }
}

function poll() {
  document.body.dataset.live = "poll";
  if (polling === null) polling = setInterval(soon, POLL_MS);
}

function follow() {
  if (!("EventSource" in window)) return poll();
  const stream = new EventSource("/_emulator/stream");
  stream.addEventListener("open", () => {
    document.body.dataset.live = "stream";
    // What happened between rendering the page and (re)connecting is not on
    // the stream: fetch the rows once to catch up.
    soon();
  });
  stream.addEventListener("attempt", (event) => {
    if (concerns(event)) soon();
  });
  stream.addEventListener("subscription", soon);
  stream.addEventListener("error", () => {
    // A closed stream (no such route, or refused) is not retried by the browser.
    if (stream.readyState === EventSource.CLOSED) poll();
  });
}

if (regions().length > 0) follow();
