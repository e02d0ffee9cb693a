// The shopper's checklist: every answer and photo is written to the phone (IndexedDB, via
// store.js) and saved to the server with htmx when online; the header says only what is true.
// show_if runs on the same parsed tree as the server; a report submitted offline is queued in
// the outbox and sent by whichever page (or the service worker) is running when the connection
// returns. Vanilla, no build.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  var dataEl = document.getElementById("checklist-data");
  var store = window.tpStore;
  if (!form || !dataEl || !store) return;
  var data = JSON.parse(dataEl.textContent);
  var msg = data.messages;
  var assignment = data.assignment;
  var stateEl = document.getElementById("save-state");
  var toastEl = document.getElementById("offline-banner");
  var submitButton = document.getElementById("submit-report");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var uuidInput = form.querySelector("input[name=uuid]");
  var items = Array.prototype.slice.call(form.querySelectorAll(".item[data-item]"));
  var saveTimer = null, retryTimer = null, sending = false;
  var draft = { dirty: false, pending: false, queuedAt: null, refused: null, errors: null };
  // every change counts: a save answers for the changes it carried, not for those made meanwhile
  var edits = 0, editsSent = 0;
  var photos = {};        // field name -> {blob, takenAt} kept on the phone until uploaded
  var photoFields = Array.prototype.map.call(form.querySelectorAll("input[data-photo-value]"),
    function (input) { return input.name; });
  var localFailed = false;
  var finished = false;   // sent: nothing more is written for this report

  // ---- the draft on this phone -------------------------------------------------------
  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "uuid" && typeof value === "string") out[name] = value;
    });
    return out;
  }
  function apply(values) {
    Object.keys(values).forEach(function (name) {
      Array.prototype.forEach.call(form.querySelectorAll('[name="' + name + '"]'), function (input) {
        if (input.type === "radio") input.checked = input.value === values[name];
        else if (input.type !== "file") input.value = values[name];
      });
    });
  }
  function record() {
    return { assignment: assignment, uuid: uuidInput.value, fields: fields(), dirty: draft.dirty,
      pending: draft.pending, queuedAt: draft.queuedAt, refused: draft.refused, errors: draft.errors,
      submitUrl: form.action, photoUrl: data.photoUrl, csrf: csrf, store: data.store, updatedAt: Date.now() };
  }
  function touch() { draft.dirty = true; edits += 1; }
  // Resolves true once the draft is on the disk; false (and says so, in red) when it is not.
  function write() {
    if (finished) return Promise.resolve(true);
    return store.saveDraft(record(), photoFields).then(function (saved) {
      localFailed = false; adopt(saved); return true;
    }, function () {
      localFailed = true; notSaved(); return false;
    });
  }
  // The stored draft may hold a photo's hash the page has not seen (uploaded by an outbox):
  // the page takes it, shows the uploaded photo and lets go of the Blob that was sent.
  function adopt(saved) {
    var changed = false;
    photoFields.forEach(function (name) {
      var input = form.querySelector('input[name="' + name + '"]'), sha = saved.draft.fields[name];
      if (sha && input.value !== sha) {
        input.value = sha; changed = true;
        if (!photos[name]) showUploaded(name, sha);
      }
      if (photos[name] && saved.waiting.indexOf(name) < 0) delete photos[name];
    });
    if (!changed) return;
    touch(); refresh();
    if (!draft.pending) { clearTimeout(saveTimer); saveTimer = setTimeout(sync, 300); }
  }
  function notSaved() {
    setState(msg.notSavedShort, "error");
    toast(msg.notSaved, "error");
  }

  var evaluate = window.showIf.evaluate;  // static/js/show_if.js: the server's rules
  function answerOf(el) {
    var id = el.dataset.item, type = el.dataset.type;
    var raw, input = el.querySelector('[name="item_' + id + '"]');
    if (input && input.type === "radio") {
      var checked = el.querySelector('input[type=radio][name="item_' + id + '"]:checked');
      raw = checked ? checked.value : "";
    } else raw = input ? input.value : "";
    if (raw === undefined || raw === "") return type === "photo" && photos["item_" + id] ? "pending" : null;
    if (raw !== "na" && (type === "scale" || type === "nps" || type === "number")) {
      var n = Number(raw); return isNaN(n) ? raw : n;
    }
    return raw;
  }
  function hasEvidence(id) {
    var name = "evidence_" + id, input = form.querySelector('input[name="' + name + '"]');
    return !!((input && input.value) || photos[name]);
  }

  // ---- visibility, progress (answers and required photos of the items shown now) -----------
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
      if (el.hasAttribute("data-evidence-required")) { total += 1; if (hasEvidence(id)) done += 1; }
    });
    var pct = total ? Math.round(100 * done / total) : 100;
    document.getElementById("progress-bar").style.width = pct + "%";
    var bar = document.querySelector("[role=progressbar]");
    bar.setAttribute("aria-valuenow", pct);
    var text = msg.progress.replace("{done}", done).replace("{total}", total);
    document.getElementById("progress-text").textContent = text;
    bar.setAttribute("aria-valuetext", text);
    return shown;
  }
  function setState(text, kind) {
    stateEl.innerHTML = "";
    var span = document.createElement("span");
    span.className = "state " + kind; span.dataset.state = kind; span.textContent = text;
    stateEl.appendChild(span);
  }
  function toast(text, kind, what) {
    toastEl.textContent = text || "";
    toastEl.className = "toast" + (kind ? " " + kind : "");
    toastEl.hidden = !text;
    toastEl.dataset.kind = what || "";
  }
  function button(kind) {
    submitButton.dataset.state = kind;
    submitButton.textContent = msg["button_" + kind];
    submitButton.setAttribute("aria-disabled", kind === "ready" ? "false" : "true");
  }

  // ---- autosave -----------------------------------------------------------------------
  function changed(event) {
    var target = event && event.target;
    if (target && target.type === "file") return;
    if (draft.pending) { draft.pending = false; draft.queuedAt = null; button("ready"); toast(""); }
    touch();
    refresh();
    clearError(target && target.closest && target.closest(".item, #visit-times"));
    setState(msg.saving, "saving");
    write().then(function (ok) {
      if (!ok) return;
      if (!navigator.onLine) setState(msg.local, "local");
      clearTimeout(saveTimer);
      saveTimer = setTimeout(sync, 300);
    });
  }
  function sync() {
    // a queued report carries every answer: a save racing it could only be refused as sent
    if (!draft.dirty || draft.pending || !window.htmx) return;
    if (!navigator.onLine) { if (!localFailed) setState(msg.local, "local"); return; }
    window.htmx.trigger(form, "tp:save");
  }
  form.addEventListener("change", changed);
  form.addEventListener("input", function (e) {
    if (e.target.tagName === "TEXTAREA" || e.target.type === "number" || e.target.type === "text") changed(e);
  });
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.requestConfig && e.detail.requestConfig.elt === form &&
        (e.detail.xhr.status === 400 || e.detail.xhr.status === 409)) {
      e.detail.shouldSwap = true; e.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target !== stateEl) return;
    var span = stateEl.querySelector(".state.error");
    if (span) { toast(span.textContent.trim(), "error"); span.textContent = msg.notSavedShort; }
  });
  document.body.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.elt === form) editsSent = edits;  // the answers are read now
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt !== form) return;
    if (e.detail.successful) {
      // changed while the save was on its way: still dirty, not "saved", and saved again
      draft.dirty = editsSent !== edits;
      if (draft.dirty) setState(msg.saving, "saving");
      write().then(function () { if (draft.dirty) { clearTimeout(saveTimer); saveTimer = setTimeout(sync, 300); } });
    } else if (!e.detail.xhr || e.detail.xhr.status === 0) offlineState();
  });
  document.body.addEventListener("htmx:sendError", offlineState);
  function offlineState() { if (localFailed) notSaved(); else setState(msg.local, "local"); }

  // ---- photos: downscaled on the phone, kept as Blobs until uploaded -----------------------
  function downscale(file) {
    return new Promise(function (resolve, reject) {
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () {
        var s = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.round(img.naturalWidth * s); c.height = Math.round(img.naturalHeight * s);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob(function (blob) { if (blob) resolve(blob); else reject(new Error("image")); }, "image/jpeg", 0.82);
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("image")); };
      img.src = url;
    });
  }
  function thumbFor(name) {
    var input = form.querySelector('[data-photo-for="' + name + '"]');
    return input && input.closest("fieldset").querySelector("img.thumb");
  }
  function showThumb(name, blob) {
    var img = thumbFor(name);
    if (!img) return;
    if (img.dataset.objectUrl) URL.revokeObjectURL(img.dataset.objectUrl);
    img.dataset.objectUrl = URL.createObjectURL(blob);
    img.src = img.dataset.objectUrl; img.hidden = false;
  }
  function showUploaded(name, sha) {
    var img = thumbFor(name);
    if (!img) return;
    if (img.dataset.objectUrl) { URL.revokeObjectURL(img.dataset.objectUrl); delete img.dataset.objectUrl; }
    img.src = data.thumbUrl.replace(data.thumbSha, sha); img.hidden = false;
  }
  // The stored draft takes the hash in the upload's own transaction; write() then brings it
  // into the form (adopt), so the page never holds a hash the phone has not stored.
  function upload(name) {
    var photo = photos[name];
    if (!photo) return Promise.resolve();
    return store.uploadPhoto({ assignment: assignment, name: name, blob: photo.blob, takenAt: photo.takenAt }, csrf)
      .then(function () { return write(); });  // adopt() takes the hash and saves it
  }
  form.addEventListener("change", function (e) {
    var input = e.target;
    if (input.type !== "file" || !input.files.length) return;
    var name = input.dataset.photoFor, item = input.closest(".item");
    downscale(input.files[0]).then(function (blob) {
      return store.checkSpace(blob.size).then(function (room) {
        if (!room) throw new Error("full");
        var photo = { assignment: assignment, name: name, blob: blob, takenAt: Date.now() };
        touch();
        return store.putPhoto(photo)
          .then(function () { return write(); })
          .then(function (ok) {
            if (!ok) return;
            photos[name] = { blob: blob, takenAt: photo.takenAt };
            showThumb(name, blob);
            clearError(item); refresh();
            setState(navigator.onLine ? msg.saving : msg.local, navigator.onLine ? "saving" : "local");
            if (navigator.onLine) upload(name).catch(offlineState);
          });
      }).catch(function () { localFailed = true; setState(msg.notSavedShort, "error"); toast(msg.photoNotSaved, "error"); });
    }, function () { toast(msg.photoFailed, "error"); });
    input.value = "";
  });

  // ---- submission: checked here, queued in the outbox, sent exactly once --------------------
  function clearError(el) {
    if (!el) return;
    el.classList.remove("has-error");
    var p = el.querySelector(".field-error"); if (p) { p.hidden = true; p.textContent = ""; }
    // what the server refused is fixed here: once nothing is left, the refusal is over
    if (draft.errors) {
      (el.id === "visit-times" ? ["visit_date", "visit_end", "visit_time"] : [el.dataset.item])
        .forEach(function (id) { delete draft.errors[id]; });
      if (!Object.keys(draft.errors).length) { draft.errors = null; draft.refused = null; }
    }
    // the last highlighted answer is fixed: the message asking for them goes too
    if (!form.querySelector(".has-error") && toastEl.dataset.kind === "missing") toast("");
  }
  function showErrors(errors) {
    var first = null;
    Object.keys(errors).forEach(function (id) {
      // the visit's day and times have one box above the checklist (visit_date, visit_end, visit_time)
      var el = document.getElementById("item-" + id) || (id.indexOf("visit_") === 0 && document.getElementById("visit-times"));
      if (!el) return;
      el.classList.add("has-error");
      var p = el.querySelector(".field-error"); p.textContent = errors[id]; p.hidden = false;
      first = first || el;
    });
    if (first) {
      var f = first.querySelector("input,textarea,select");
      if (f) f.focus(); else first.scrollIntoView({ block: "center" });
    }
  }
  function missing() {
    var errors = {}, shown = refresh();
    items.forEach(function (el) {
      if (el.hidden) return;
      var id = el.dataset.item;
      if (el.hasAttribute("data-required") && !(id in shown)) errors[id] = msg.required;
      else if (el.hasAttribute("data-evidence-required") && !hasEvidence(id)) errors[id] = msg.photoRequired;
    });
    return errors;
  }
  function queued() {
    button("queued");
    toast(msg.queued + " " + msg.queuedAt.replace("{time}", new Date(draft.queuedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  }
  function trySubmit() {
    if (sending || !draft.pending) return;
    if (!navigator.onLine) { queued(); return; }
    sending = true; button("sending"); toast(msg.sending);
    store.flush(csrf).then(function (results) {
      sending = false;
      var mine = results.filter(function (r) { return r.assignment === assignment; })[0];
      // another sender (the list page, the service worker) may have dealt with it first
      if (!mine) {
        return store.getDraft(assignment).then(function (d) {
          if (!d) sent(data.reportUrl);
          else if (!d.pending && d.refused != null) refused(d.refused, d.errors);
          else { queued(); schedule(); }
        });
      }
      if (mine.status === "sent") sent(mine.url);
      else if (mine.status === "refused") refused(mine.message, mine.errors);
      else { queued(); schedule(); }
    });
  }
  function refused(message, errors) {
    clearTimeout(retryTimer);
    draft.pending = false; draft.queuedAt = null; draft.refused = message || ""; draft.errors = errors || {};
    button("ready");
    toast(message || msg.missing, "error", "missing");
    showErrors(draft.errors);
  }
  function sent(url) {
    finished = true; clearTimeout(retryTimer);
    button("sent"); toast(msg.sent);
    window.location.assign(url || data.reportUrl);
  }
  function schedule() { clearTimeout(retryTimer); retryTimer = setTimeout(trySubmit, 15000); }
  function register() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("tp-outbox");
    }).catch(function () { /* no Background Sync: the pages retry */ });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (submitButton.dataset.state !== "ready") return;
    var errors = missing();
    if (Object.keys(errors).length) { toast(msg.missing, "error", "missing"); showErrors(errors); return; }
    draft.pending = true; draft.queuedAt = Date.now(); draft.refused = null; draft.errors = null;
    write().then(function (ok) {
      if (!ok && !navigator.onLine) { draft.pending = false; return; }
      register();
      trySubmit();
    });
  });
  window.addEventListener("online", function () {
    if (draft.pending) trySubmit();
    else {
      sync();
      Object.keys(photos).forEach(function (n) { upload(n).catch(offlineState); });
    }
  });
  window.addEventListener("offline", function () { if (!draft.pending) offlineState(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (!e.data || e.data.assignment !== assignment) return;
      if (e.data.type === "tp-sent") sent(e.data.url);
      else if (e.data.type === "tp-refused" && draft.pending) refused(e.data.message, e.data.errors);
    });
  }

  // ---- start: move old localStorage drafts, then restore this checklist's draft --------------
  button("ready");
  store.persist();
  store.migrateLocalStorage().catch(function () { return 0; }).then(function () {
    return Promise.all([store.getDraft(assignment), store.photosOf(assignment)]);
  }).then(function (both) {
    var saved = both[0];
    if (saved && (saved.uuid === uuidInput.value || !data.hasResponse)) {
      uuidInput.value = saved.uuid;
      // radios that are not in the draft were unset on the phone: clear them first
      Array.prototype.forEach.call(form.querySelectorAll("input[type=radio]"), function (r) {
        if (!(r.name in saved.fields)) r.checked = false;
      });
      apply(saved.fields);
      draft.dirty = !!saved.dirty; draft.pending = !!saved.pending; draft.queuedAt = saved.queuedAt;
      draft.refused = saved.refused === undefined ? null : saved.refused; draft.errors = saved.errors || null;
      // photos already uploaded show from the server; those still on the phone from their Blob
      photoFields.forEach(function (name) { if (saved.fields[name]) showUploaded(name, saved.fields[name]); });
      both[1].forEach(function (p) { photos[p.name] = { blob: p.blob, takenAt: p.takenAt }; showThumb(p.name, p.blob); });
    }
    return write();
  }, function () { localFailed = true; notSaved(); }).then(function () {
    refresh();
    document.documentElement.dataset.draftReady = "1";
    if (draft.pending) { queued(); trySubmit(); }
    else if (draft.refused != null) refused(draft.refused, draft.errors);
    if (!draft.pending && draft.dirty && !localFailed) {
      setState(msg.local, "local"); sync();
      if (navigator.onLine) Object.keys(photos).forEach(function (n) { upload(n).catch(offlineState); });
    }
  });
  refresh();
})();
