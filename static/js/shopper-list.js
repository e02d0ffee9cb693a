// The shopper's assignment list: sends every report queued on this phone (on load and when the
// connection returns; the service worker's Background Sync does the same where it exists),
// shows "waiting to send" with the time queued, and keeps every due checklist on the phone so
// it opens without a connection ("available offline" once it is).
(function () {
  "use strict";
  var list = document.getElementById("assignments");
  var store = window.tpStore;
  if (!list || !store) return;
  var csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}") || {})["X-CSRFToken"];
  var cards = {};
  Array.prototype.forEach.call(list.querySelectorAll("a[data-assignment]"), function (card) {
    cards[card.dataset.assignment] = card;
  });

  function when(ts) {
    return new Date(ts).toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function badge(card, text, kind) {
    var b = card.querySelector(".badge");
    b.textContent = text; card.dataset.outbox = kind;
  }
  function markSent(assignment, url) {
    var card = cards[assignment];
    if (!card) return;
    badge(card, list.dataset.msgSent, "sent");
    card.className = "card assignment state-submitted";
    card.href = url || card.dataset.reportUrl;
    card.removeAttribute("data-offline-url");
    var offline = card.querySelector("[data-offline-state]");
    if (offline) offline.remove();
  }
  function showOutbox() {
    return store.allDrafts().then(function (drafts) {
      return Promise.all(drafts.map(function (d) {
        var card = cards[d.assignment];
        if (!card) return null;
        if (d.pending) badge(card, list.dataset.msgWaiting.replace("{time}", when(d.queuedAt)), "waiting");
        else if (d.refused !== undefined && d.refused !== null) badge(card, list.dataset.msgRefused, "refused");
        if (!d.submitUrl && card.dataset.offlineUrl) {  // a draft moved from localStorage
          d.submitUrl = card.dataset.offlineUrl; d.photoUrl = list.dataset.photoUrl;
          return store.putDraft(d);
        }
        return null;
      }));
    });
  }
  function send() {
    if (!navigator.onLine) return Promise.resolve();
    return store.flush(csrf).then(function (results) {
      results.forEach(function (r) {
        if (r.status === "sent") markSent(String(r.assignment), r.url);
        else if (r.status === "refused") badge(cards[r.assignment], list.dataset.msgRefused, "refused");
      });
    });
  }

  // ---- offline readiness ------------------------------------------------------------------
  function markOffline(card, ready) {
    var el = card.querySelector("[data-offline-state]");
    if (!el) return;
    el.textContent = ready ? list.dataset.msgOffline : list.dataset.msgNotOffline;
    el.dataset.ready = ready ? "1" : "0";
    el.className = "offline-state small " + (ready ? "ready" : "muted");
  }
  function keepOffline() {
    if (!window.caches || !navigator.serviceWorker) return Promise.resolve();
    return navigator.serviceWorker.ready.then(function () {
      return caches.open(list.dataset.cache);
    }).then(function (cache) {
      var due = Array.prototype.slice.call(list.querySelectorAll("a[data-offline-url]"));
      return Promise.all(due.map(function (card) {
        var url = card.dataset.offlineUrl;
        return cache.match(url, { ignoreVary: true }).then(function (hit) {
          if (!navigator.onLine) return !!hit;
          return fetch(url, { credentials: "same-origin" }).then(function (r) {
            if (r.ok && !r.redirected) return cache.put(url, r).then(function () { return true; });
            return !!hit;
          }, function () { return !!hit; });
        }).then(function (ready) { markOffline(card, ready); });
      }));
    });
  }

  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (!e.data || !cards[e.data.assignment]) return;
      if (e.data.type === "tp-sent") markSent(String(e.data.assignment), e.data.url);
      else if (e.data.type === "tp-refused") badge(cards[e.data.assignment], list.dataset.msgRefused, "refused");
    });
  }
  window.addEventListener("online", function () { send().then(keepOffline); });
  store.migrateLocalStorage().catch(function () { return 0; })
    .then(showOutbox).then(send).then(keepOffline)
    .catch(function () { /* IndexedDB unavailable: nothing queued here */ })
    .then(function () { document.documentElement.dataset.listReady = "1"; });
})();
