// Logging out on a shared phone: warn when answers or reports have not reached the server yet
// (they stay on the phone if the shopper logs out anyway); otherwise clear the drafts and the
// pages kept for offline use, so the next person sees nothing of this shopper's work.
(function () {
  "use strict";
  var form = document.querySelector("form[data-logout]");
  if (!form || !window.indexedDB) return;
  function loadStore() {
    if (window.tpStore) return Promise.resolve(window.tpStore);
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = form.dataset.store;
      s.onload = function () { resolve(window.tpStore); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  function clearPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("tp-") === 0; })
        .map(function (k) { return caches.delete(k); }));
    });
  }
  var checked = false;
  form.addEventListener("submit", function (event) {
    if (checked) return;
    event.preventDefault();
    loadStore().then(function (store) {
      return store.unsent().then(function (unsent) {
        if (unsent.length) {
          var names = unsent.map(function (d) { return d.store || "#" + d.assignment; }).join(", ");
          if (!window.confirm(form.dataset.unsent.replace("{stores}", names))) return false;
          return clearPages().then(function () { return true; });
        }
        return Promise.all([store.clearAll(), clearPages()]).then(function () { return true; });
      });
    }).catch(function () { return true; }).then(function (go) {
      if (!go) return;
      checked = true;
      form.submit();
    });
  });
})();
