// The shopper's checklist: every answer is kept on the phone at once (localStorage) and sent
// to the server with htmx when online; show_if runs on the same parsed tree as the server;
// a submission made offline is queued and sent when the connection returns. Vanilla, no build.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  var dataEl = document.getElementById("checklist-data");
  if (!form || !dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var msg = data.messages;
  var key = "tp-draft:" + data.assignment;
  var stateEl = document.getElementById("save-state");
  var banner = document.getElementById("offline-banner");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var uuidInput = form.querySelector("input[name=uuid]");
  var items = Array.prototype.slice.call(form.querySelectorAll(".item[data-item]"));
  var saveTimer = null, retryTimer = null, sending = false;

  // ---- the draft on this phone -------------------------------------------------------
  function read() {
    try { return JSON.parse(localStorage.getItem(key)) || null; } catch (e) { return null; }
  }
  function write() {
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* quota: server copy */ }
  }
  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "uuid" && typeof value === "string") out[name] = value;
    });
    return out;
  }
  function apply(values) {
    Object.keys(values).forEach(function (name) {
      var inputs = form.querySelectorAll('[name="' + name + '"]');
      Array.prototype.forEach.call(inputs, function (input) {
        if (input.type === "radio") input.checked = input.value === values[name];
        else input.value = values[name];
      });
    });
  }

  var draft = read();
  if (draft && (draft.uuid === uuidInput.value || !data.hasResponse)) {
    uuidInput.value = draft.uuid;
    // radios that are not in the draft were unset on the phone: clear them first
    Array.prototype.forEach.call(form.querySelectorAll("input[type=radio]"), function (r) {
      if (!(r.name in draft.fields)) r.checked = false;
    });
    apply(draft.fields);
  } else {
    draft = { uuid: uuidInput.value, fields: fields(), photos: {}, dirty: false, pending: false };
  }
  draft.photos = draft.photos || {};

  var evaluate = window.showIf.evaluate;  // static/js/show_if.js: the server's rules
  function answerOf(el) {
    var id = el.dataset.item, type = el.dataset.type;
    var raw, input = el.querySelector('[name="item_' + id + '"]');
    if (input && input.type === "radio") {
      var checked = el.querySelector('input[type=radio][name="item_' + id + '"]:checked');
      raw = checked ? checked.value : "";
    } else raw = input ? input.value : "";
    if (raw === undefined || raw === "") return type === "photo" && draft.photos["item_" + id] ? "pending" : null;
    if (raw !== "na" && (type === "scale" || type === "nps" || type === "number")) {
      var n = Number(raw); return isNaN(n) ? raw : n;
    }
    return raw;
  }

  // ---- visibility, progress, save state -------------------------------------------------
  function refresh() {
    var shown = {}, done = 0, total = 0;
    items.forEach(function (el) {
      var id = el.dataset.item;
      var visible = evaluate(data.conditions[id], shown);
      el.hidden = !visible;
      if (!visible) return;
      var answer = answerOf(el);
      if (answer !== null) shown[id] = answer;
      if (el.hasAttribute("data-required")) { total += 1; if (answer !== null) done += 1; }
    });
    var pct = total ? Math.round(100 * done / total) : 100;
    document.getElementById("progress-bar").style.width = pct + "%";
    document.querySelector("[role=progressbar]").setAttribute("aria-valuenow", pct);
    document.getElementById("progress-text").textContent =
      msg.progress.replace("{done}", done).replace("{total}", total);
    return shown;
  }
  function setState(text, kind) {
    stateEl.innerHTML = "";
    var span = document.createElement("span");
    span.className = "state " + kind; span.dataset.state = kind; span.textContent = text;
    stateEl.appendChild(span);
  }
  function showBanner(text) { banner.textContent = text; banner.hidden = !text; }

  // ---- autosave -----------------------------------------------------------------------
  function changed(event) {
    if (event && event.target && event.target.type === "file") return;
    draft.fields = fields(); draft.dirty = true; write();
    refresh();
    setState(msg.local, "local");
    clearError(event && event.target && event.target.closest(".item"));
    clearTimeout(saveTimer);
    saveTimer = setTimeout(sync, 400);
  }
  function sync() {
    if (!draft.dirty || !navigator.onLine || !window.htmx) return;
    draft.savingAt = Date.now();
    window.htmx.trigger(form, "tp:save");
  }
  form.addEventListener("change", changed);
  form.addEventListener("input", function (e) { if (e.target.tagName === "TEXTAREA" || e.target.type === "number" || e.target.type === "text") changed(e); });
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.requestConfig && e.detail.requestConfig.elt === form && (e.detail.xhr.status === 400 || e.detail.xhr.status === 409)) {
      e.detail.shouldSwap = true; e.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt !== form) return;
    if (e.detail.successful) { draft.dirty = false; write(); }
    else if (!e.detail.xhr || e.detail.xhr.status === 0) setState(msg.local, "local");
  });
  document.body.addEventListener("htmx:sendError", function () { setState(msg.local, "local"); });

  // ---- photos: downscaled on the phone, kept until uploaded ------------------------------
  function downscale(file) {
    return new Promise(function (resolve, reject) {
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () {
        var s = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.round(img.naturalWidth * s); c.height = Math.round(img.naturalHeight * s);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url); resolve(c.toDataURL("image/jpeg", 0.82));
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("image")); };
      img.src = url;
    });
  }
  function thumbFor(name) {
    var input = form.querySelector('[data-photo-for="' + name + '"]');
    return input && input.closest("fieldset").querySelector("img.thumb");
  }
  function uploadPhoto(name) {
    return fetch(draft.photos[name]).then(function (r) { return r.blob(); }).then(function (blob) {
      var body = new FormData(); body.append("photo", blob, "photo.jpg");
      return fetch(data.photoUrl, { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } });
    }).then(function (r) {
      if (!r.ok) throw new Error("upload " + r.status);
      return r.json();
    }).then(function (json) {
      form.querySelector('input[name="' + name + '"]').value = json.sha256;
      delete draft.photos[name];
      draft.fields = fields(); draft.dirty = true; write(); sync();
    });
  }
  form.addEventListener("change", function (e) {
    var input = e.target;
    if (input.type !== "file" || !input.files.length) return;
    var name = input.dataset.photoFor;
    downscale(input.files[0]).then(function (dataUrl) {
      draft.photos[name] = dataUrl; write();
      var img = thumbFor(name); if (img) { img.src = dataUrl; img.hidden = false; }
      clearError(input.closest(".item")); refresh();
      setState(msg.local, "local");
      if (navigator.onLine) uploadPhoto(name).catch(function () {});
    }).catch(function () { showBanner(msg.photoFailed); });
  });
  Object.keys(draft.photos).forEach(function (name) {
    var img = thumbFor(name); if (img) { img.src = draft.photos[name]; img.hidden = false; }
  });

  // ---- submission: checked here, queued when offline, sent exactly once --------------------
  function clearError(el) {
    if (!el) return;
    el.classList.remove("has-error");
    var p = el.querySelector(".field-error"); if (p) { p.hidden = true; p.textContent = ""; }
  }
  function showErrors(errors) {
    var first = null;
    Object.keys(errors).forEach(function (id) {
      var el = document.getElementById("item-" + id); if (!el) return;
      el.classList.add("has-error");
      var p = el.querySelector(".field-error"); p.textContent = errors[id]; p.hidden = false;
      first = first || el;
    });
    if (first) { first.scrollIntoView({ block: "center" }); var f = first.querySelector("input,textarea"); if (f) f.focus({ preventScroll: true }); }
  }
  function missing() {
    var errors = {}, shown = refresh();
    items.forEach(function (el) {
      if (el.hidden) return;
      var id = el.dataset.item;
      if (el.hasAttribute("data-required") && !(id in shown)) errors[id] = msg.required;
      else if (el.hasAttribute("data-evidence-required")) {
        var name = "evidence_" + id, input = form.querySelector('input[name="' + name + '"]');
        if (!(input && input.value) && !draft.photos[name]) errors[id] = msg.photoRequired;
      }
    });
    return errors;
  }
  function trySubmit() {
    if (sending || !draft.pending) return;
    if (!navigator.onLine) { showBanner(msg.queued); setState(msg.local, "local"); return; }
    sending = true; showBanner(msg.sending);
    var uploads = Object.keys(draft.photos).map(uploadPhoto);
    Promise.all(uploads).then(function () {
      return fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { return { r: r, json: json }; });
    }).then(function (res) {
      sending = false;
      if (res.r.ok) {
        localStorage.removeItem(key);
        window.location.assign(res.json.url || data.homeUrl);
      } else if (res.r.status >= 400 && res.r.status < 500) {
        draft.pending = false; write();
        showBanner(res.json.message || msg.missing);
        if (res.json.errors) showErrors(res.json.errors);
      } else { showBanner(msg.queued); schedule(); }
    }).catch(function () { sending = false; showBanner(msg.queued); setState(msg.local, "local"); schedule(); });
  }
  function schedule() { clearTimeout(retryTimer); retryTimer = setTimeout(trySubmit, 15000); }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var errors = missing();
    if (Object.keys(errors).length) { showBanner(msg.missing); showErrors(errors); return; }
    draft.fields = fields(); draft.pending = true; write();
    trySubmit();
  });
  window.addEventListener("online", function () { sync(); trySubmit(); Object.keys(draft.photos).forEach(function (n) { if (!draft.pending) uploadPhoto(n).catch(function () {}); }); });
  window.addEventListener("offline", function () { setState(msg.local, "local"); });

  refresh();
  if (draft.dirty) { setState(msg.local, "local"); sync(); }
  if (draft.pending) { showBanner(msg.queued); trySubmit(); }
})();
