// Registers the shopper's service worker so visited checklists open offline.
(function () {
  var me = document.currentScript;
  if (!("serviceWorker" in navigator) || !me) return;
  navigator.serviceWorker.register(me.dataset.sw, { scope: me.dataset.scope }).catch(function () {});
})();
