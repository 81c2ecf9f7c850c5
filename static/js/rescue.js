// M4S roadside rescue: fill the SOS form's location from the browser, and keep the advisor's
// half-typed input when the live rescue queue refreshes. Without it the typed address works.
(function () {
  "use strict";

  function locate() {
    var box = document.getElementById("location-box");
    var lat = document.getElementById("latitude");
    var lng = document.getElementById("longitude");
    var acc = document.getElementById("accuracy");
    var status = document.getElementById("location-status");
    var again = document.getElementById("locate-button");
    if (!box || !lat || !lng || !navigator.geolocation) { return; }
    function failed() {
      status.textContent = box.dataset.failed;
      again.hidden = false;
    }
    function ask() {
      status.textContent = box.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        acc.value = Math.round(pos.coords.accuracy || 0);
        status.textContent = box.dataset.found.replace("{m}", acc.value);
        again.hidden = true;
      }, failed, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    }
    again.addEventListener("click", ask);
    if (!lat.value) { ask(); }
  }

  function oneSubmit() {
    // The idempotency token makes a second POST harmless; this only spares a second wait.
    var form = document.getElementById("rescue-form");
    if (!form) { return; }
    form.addEventListener("submit", function () {
      var button = document.getElementById("rescue-submit");
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  // Back office: the queue list polls; skip a refresh while the advisor types in it.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "rescue-list" && target.contains(document.activeElement) &&
        document.activeElement.matches("input, textarea, select")) {
      evt.detail.shouldSwap = false;
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { locate(); oneSubmit(); });
  } else {
    locate(); oneSubmit();
  }
})();
