// The shopper's work on this phone: drafts (answers) and photos (Blobs) in IndexedDB, which
// holds far more than localStorage's 5 MB, and the outbox that sends queued reports. Loaded by
// the pages and by the service worker (Background Sync), so it touches no DOM. Vanilla, no build.
(function (root) {
  "use strict";
  var DB_NAME = "touchpoint", DB_VERSION = 1;
  var opening = null;

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var request = root.indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("drafts", { keyPath: "assignment" });
          db.createObjectStore("photos", { keyPath: ["assignment", "name"] })
            .createIndex("assignment", "assignment");
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
        request.onblocked = function () { reject(new Error("blocked")); };
      });
      opening.catch(function () { opening = null; });
    }
    return opening;
  }

  // One transaction; resolves with the last request's result once the transaction commits,
  // so "saved" is only ever said of data that is on the disk.
  function run(stores, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode), request;
        t.oncomplete = function () { resolve(request ? request.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error || new Error("aborted")); };
        try { request = work(t); } catch (error) { try { t.abort(); } catch (e) { /* done */ } reject(error); }
      });
    });
  }

  function getDraft(assignment) {
    return run(["drafts"], "readonly", function (t) { return t.objectStore("drafts").get(assignment); });
  }
  function allDrafts() {
    return run(["drafts"], "readonly", function (t) { return t.objectStore("drafts").getAll(); });
  }
  function putDraft(draft) {
    return run(["drafts"], "readwrite", function (t) { return t.objectStore("drafts").put(draft); });
  }
  // The page's copy of its draft, written in one transaction with what is stored. The hashes of
  // uploaded photos belong to the store, not to the page: an outbox (this page's, the list's or
  // the service worker's) may have uploaded a photo and put its hash in the stored draft after
  // the page last looked, and the page's empty or older value must not wipe it (the photo's
  // Blob is gone from the phone by then). Resolves with {draft: as stored, waiting: [names of
  // photos still on the phone]} so that the page can take the hashes and drop uploaded Blobs.
  function saveDraft(draft, photoFields) {
    var waiting;
    return run(["drafts", "photos"], "readwrite", function (t) {
      var drafts = t.objectStore("drafts");
      drafts.get(draft.assignment).onsuccess = function (e) {
        var old = e.target.result;
        if (old && old.uuid === draft.uuid) {
          draft.photoTimes = old.photoTimes || {};
          photoFields.forEach(function (name) {
            var kept = old.fields[name];
            if (kept && kept !== draft.fields[name]) { draft.fields[name] = kept; draft.dirty = true; }
          });
        }
        drafts.put(draft);
      };
      var keys = t.objectStore("photos").index("assignment").getAllKeys(draft.assignment);
      keys.onsuccess = function () { waiting = keys.result.map(function (key) { return key[1]; }); };
      return keys;
    }).then(function () { return { draft: draft, waiting: waiting }; });
  }
  function photosOf(assignment) {
    return run(["photos"], "readonly", function (t) {
      return t.objectStore("photos").index("assignment").getAll(assignment);
    });
  }
  function allPhotos() {
    return run(["photos"], "readonly", function (t) { return t.objectStore("photos").getAll(); });
  }
  function putPhoto(photo) {
    return run(["photos"], "readwrite", function (t) { return t.objectStore("photos").put(photo); });
  }
  function deletePhoto(assignment, name) {
    return run(["photos"], "readwrite", function (t) { return t.objectStore("photos").delete([assignment, name]); });
  }
  function forget(assignment) {
    return run(["drafts", "photos"], "readwrite", function (t) {
      t.objectStore("drafts").delete(assignment);
      var range = IDBKeyRange.bound([assignment, ""], [assignment, "\uffff"]);
      return t.objectStore("photos").delete(range);
    });
  }
  function clearAll() {
    return run(["drafts", "photos"], "readwrite", function (t) {
      t.objectStore("drafts").clear();
      return t.objectStore("photos").clear();
    });
  }

  // Unsent work: answers the server has not acknowledged, a queued report or a photo not uploaded.
  function unsent() {
    return Promise.all([allDrafts(), allPhotos()]).then(function (both) {
      var withPhotos = {};
      both[1].forEach(function (p) { withPhotos[p.assignment] = true; });
      return both[0].filter(function (d) { return d.dirty || d.pending || withPhotos[d.assignment]; });
    });
  }

  // Room for `bytes` more? Ask for persistent storage so the browser does not evict drafts.
  function checkSpace(bytes) {
    var storage = root.navigator.storage;
    if (!storage || !storage.estimate) return Promise.resolve(true);
    return storage.estimate().then(function (e) {
      return !e.quota || e.quota - (e.usage || 0) > bytes + 1024 * 1024;
    }, function () { return true; });
  }
  function persist() {
    var storage = root.navigator.storage;
    if (!storage || !storage.persist) return Promise.resolve(false);
    return storage.persisted().then(function (yes) { return yes || storage.persist(); })
      .catch(function () { return false; });
  }

  // Drafts kept by earlier versions of the page in localStorage (photos as data URLs) move here
  // once, on the first load; a draft already in IndexedDB is newer and wins.
  function migrateLocalStorage() {
    var ls;
    try { ls = root.localStorage; } catch (e) { return Promise.resolve(0); }
    if (!ls) return Promise.resolve(0);
    var keys = [];
    for (var i = 0; i < ls.length; i++) if (ls.key(i).indexOf("tp-draft:") === 0) keys.push(ls.key(i));
    return keys.reduce(function (chain, key) {
      return chain.then(function (moved) {
        var old; try { old = JSON.parse(ls.getItem(key)); } catch (e) { old = null; }
        var assignment = Number(key.slice("tp-draft:".length));
        if (!old || !assignment) { ls.removeItem(key); return moved; }
        return getDraft(assignment).then(function (existing) {
          if (existing) return false;
          var names = Object.keys(old.photos || {});
          return Promise.all(names.map(function (name) {
            return fetch(old.photos[name]).then(function (r) { return r.blob(); }).then(function (blob) {
              return putPhoto({ assignment: assignment, name: name, blob: blob, takenAt: Date.now() });
            });
          })).then(function () {
            return putDraft({ assignment: assignment, uuid: old.uuid, fields: old.fields || {},
              dirty: !!old.dirty || names.length > 0, pending: !!old.pending,
              queuedAt: old.pending ? Date.now() : null });
          }).then(function () { return true; });
        }).then(function (done) { ls.removeItem(key); return moved + (done ? 1 : 0); });
      });
    }, Promise.resolve(0));
  }

  // ---- the outbox ---------------------------------------------------------------------
  function post(url, body, csrf) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" } });
  }
  function json(response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected || type.indexOf("application/json") !== 0) return Promise.resolve(null);
    return response.json().catch(function () { return null; });
  }

  // Uploads one photo; the draft then refers to it by its hash and the Blob is dropped.
  function uploadPhoto(photo, csrf) {
    return getDraft(photo.assignment).then(function (draft) {
      var body = new FormData();
      body.append("photo", photo.blob, "photo.jpg");
      return post(draft.photoUrl, body, csrf || draft.csrf).then(function (response) {
        return json(response).then(function (answer) {
          if (!response.ok || !answer || !answer.sha256) {
            var error = new Error("upload " + response.status);
            error.status = response.status; error.message2 = answer && answer.message;
            throw error;
          }
          // In one transaction: the draft takes the hash unless a photo taken later was uploaded
          // first (a retake wins over the photo it replaced), and the Blob goes only if it is
          // still the one uploaded (a retake taken during the upload waits for its own).
          var key = [photo.assignment, photo.name], takenAt = photo.takenAt || 0;
          return run(["drafts", "photos"], "readwrite", function (t) {
            var drafts = t.objectStore("drafts"), photos = t.objectStore("photos");
            drafts.get(photo.assignment).onsuccess = function (e) {
              var d = e.target.result;
              if (!d) return;
              d.photoTimes = d.photoTimes || {};
              if ((d.photoTimes[photo.name] || 0) > takenAt) return;
              d.photoTimes[photo.name] = takenAt;
              d.fields[photo.name] = answer.sha256; d.dirty = true;
              drafts.put(d);
            };
            var stored = photos.get(key);
            stored.onsuccess = function () {
              if (stored.result && (stored.result.takenAt || 0) === takenAt) photos.delete(key);
            };
            return stored;
          }).then(function () { return answer; });
        });
      });
    });
  }

  // Sends one queued report: its photos first, then the answers with the report's own UUID
  // (the server stores a repeated submission once). Resolves with
  // {status: "sent"|"refused"|"retry", ...}.
  function uploadAll(assignment, csrf, rounds) {
    return photosOf(assignment).then(function (photos) {
      if (!photos.length) return null;
      // a photo taken while these were uploading is sent with the report too
      if (!rounds) throw new Error("photos keep changing");
      return photos.reduce(function (chain, photo) {
        return chain.then(function () { return uploadPhoto(photo, csrf); });
      }, Promise.resolve()).then(function () { return uploadAll(assignment, csrf, rounds - 1); });
    });
  }
  function sendReport(assignment, csrf) {
    return uploadAll(assignment, csrf, 3).then(function () { return getDraft(assignment); }).then(function (draft) {
      if (!draft || !draft.pending) return { status: "none" };
      var token = csrf || draft.csrf, body = new FormData();
      Object.keys(draft.fields).forEach(function (name) { body.append(name, draft.fields[name]); });
      body.append("uuid", draft.uuid);
      body.append("csrf_token", token);
      return post(draft.submitUrl, body, token).then(function (response) {
        return json(response).then(function (answer) {
          if (response.ok && answer && answer.uuid) {
            return forget(assignment).then(function () {
              return { status: "sent", assignment: assignment, url: answer.url };
            });
          }
          if (answer && (response.status === 422 || response.status === 409)) {
            // the server refused it for a reason the shopper must fix: stop retrying
            draft.pending = false; draft.refused = answer.message || ""; draft.errors = answer.errors || {};
            return putDraft(draft).then(function () {
              return { status: "refused", assignment: assignment, message: answer.message,
                errors: answer.errors || {} };
            });
          }
          return { status: "retry", assignment: assignment };
        });
      });
    }).catch(function () { return { status: "retry", assignment: assignment }; });
  }

  // Every queued report, one sender at a time across pages and the service worker.
  function flush(csrf) {
    function work() {
      return allDrafts().then(function (drafts) {
        return drafts.filter(function (d) { return d.pending; }).reduce(function (chain, d) {
          return chain.then(function (results) {
            return sendReport(d.assignment, csrf).then(function (r) { results.push(r); return results; });
          });
        }, Promise.resolve([]));
      });
    }
    var locks = root.navigator.locks;
    return locks ? locks.request("tp-outbox", work) : work();
  }

  root.tpStore = {
    getDraft: getDraft, allDrafts: allDrafts, putDraft: putDraft, saveDraft: saveDraft, photosOf: photosOf,
    putPhoto: putPhoto, deletePhoto: deletePhoto, forget: forget, clearAll: clearAll,
    unsent: unsent, checkSpace: checkSpace, persist: persist,
    migrateLocalStorage: migrateLocalStorage, uploadPhoto: uploadPhoto, flush: flush
  };
})(self);
