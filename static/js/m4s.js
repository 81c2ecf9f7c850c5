// M4S: small progressive enhancements. The portal works without this file.
(function () {
  "use strict";
  // Keep the CSRF header fresh on htmx requests if a fragment replaced the body attribute.
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.body.getAttribute("hx-headers");
    if (meta && !evt.detail.headers["X-CSRFToken"]) {
      try { Object.assign(evt.detail.headers, JSON.parse(meta)); } catch (e) { /* ignore */ }
    }
  });
  // htmx does not swap 4xx answers by default; our 422 answers are forms with errors to show.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 422 || status === 409) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
