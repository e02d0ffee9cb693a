// Where the phone is at the start of a visit and at submission, when the shopper allows it.
// Kept apart from checklist.js: it only fills hidden fields the form already sends, and a
// refused or unavailable location never blocks anything.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  if (!form || !("geolocation" in navigator)) return;
  function field(name) { return form.querySelector('input[name="' + name + '"]'); }
  function put(prefix, position) {
    field(prefix + "_lat").value = position.coords.latitude.toFixed(6);
    field(prefix + "_lon").value = position.coords.longitude.toFixed(6);
    field(prefix + "_acc").value = Math.round(position.coords.accuracy);
  }
  function locate() {
    navigator.geolocation.getCurrentPosition(function (position) {
      if (!field("geo_start_lat").value) put("geo_start", position);
      put("geo_submit", position); // the latest fix is what the submission carries
    }, function () {}, { enableHighAccuracy: true, maximumAge: 60000, timeout: 20000 });
  }
  locate();
  setInterval(locate, 60000);
})();
