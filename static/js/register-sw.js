// Registers the shopper's service worker, then keeps a copy of this page for offline use.
(function () {
  var me = document.currentScript;
  if (!("serviceWorker" in navigator) || !me) return;
  navigator.serviceWorker.register(me.dataset.sw, { scope: me.dataset.scope })
    .then(function () { return navigator.serviceWorker.ready; })
    .then(function () {
      // the page that registered the worker was fetched before it existed: store it now
      if (navigator.onLine && window.caches) {
        return caches.open(me.dataset.cache).then(function (cache) { return cache.add(location.href); });
      }
    })
    .then(function () { document.documentElement.dataset.offlineReady = "1"; })
    .catch(function () {});
})();
