// M4S inspection screens: every item save is kept on the device (IndexedDB) with a key of its
// own, then sent in order; a save the network loses stays, marked "waiting to upload", and is
// sent again when the connection returns (the online event, or the next page load). The
// server records each key once, so a retry after a lost answer changes nothing twice. A save
// the server refuses (its message comes back in the form) leaves the queue.
(function () {
  "use strict";
  var root = document.querySelector("[data-dvi-offline]");
  if (!root || !window.indexedDB || !window.fetch) { return; }
  var WAITING = root.getAttribute("data-waiting-text");
  var LOGIN = root.getAttribute("data-login-text");
  var busy = false;
  var again = false;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.getAttribute("data-sw"), {
      scope: root.getAttribute("data-scope")
    }).catch(function () { /* the page still works, only not from the cache */ });
  }

  function db() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("m4s-dvi", 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore("saves", { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("saves", mode);
        var out = fn(t.objectStore("saves"));
        t.oncomplete = function () { d.close(); resolve(out && out.result); };
        t.onerror = function () { d.close(); reject(t.error); };
      });
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function csrf() {
    try { return JSON.parse(root.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function mark(form, text) {
    if (!form) { return; }
    var old = form.querySelector(".dvi-waiting");
    if (old) { old.remove(); }
    var saved = form.querySelector(".dvi-saved");
    if (saved) { saved.remove(); }
    if (!text) { return; }
    var badge = document.createElement("span");
    badge.className = "badge badge-warning ml-2 dvi-waiting";
    badge.setAttribute("role", "status");
    badge.textContent = text;
    form.querySelector("button[type=submit]").insertAdjacentElement("afterend", badge);
  }

  // Put what the technician entered back into the form (after a reload while waiting).
  function refill(form, fields) {
    fields.forEach(function (f) {
      if (typeof f[1] !== "string" || f[0] === "csrf_token" || f[0] === "save_key") { return; }
      var els = form.querySelectorAll("[name='" + f[0] + "']");
      Array.prototype.forEach.call(els, function (el) {
        if (el.type === "radio" || el.type === "checkbox") {
          el.checked = el.value === f[1];
          if (el.parentElement) { el.parentElement.classList.toggle("active", el.checked); }
        } else if (el.type !== "file") {
          el.value = f[1];
        }
      });
    });
  }

  function body(fields) {
    var fd = new FormData();
    fields.forEach(function (f) {
      if (typeof f[1] === "string") { fd.append(f[0], f[1]); } else { fd.append(f[0], f[1].blob, f[1].name); }
    });
    return fd;
  }

  function swap(form, html) {
    if (!form) { return; }
    var box = document.createElement("div");
    box.innerHTML = html;
    var fresh = box.querySelector("form.dvi-item");
    if (!fresh) { return; }
    form.replaceWith(fresh);
    if (window.htmx) { htmx.process(fresh); }
  }

  function send(entry) {
    return fetch(entry.url, {
      method: "POST",
      body: body(entry.fields),
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrf() }
    });
  }

  // Send the waiting saves one by one, oldest first; stop at the first the network loses.
  function flush() {
    if (busy) { again = true; return Promise.resolve(); }
    busy = true;
    return tx("readonly", function (s) { return s.getAll(); }).then(function (entries) {
      var chain = Promise.resolve(true);
      entries.forEach(function (entry) {
        chain = chain.then(function (go) {
          var form = document.getElementById(entry.item);
          if (!go) { mark(form, WAITING); return false; }
          return send(entry).then(function (res) {
            if (res.redirected) { mark(form, LOGIN); return false; }  // logged out: keep it
            if (res.status >= 500 || res.status === 429) { mark(form, WAITING); return false; }
            return res.text().then(function (html) {
              return tx("readwrite", function (s) { s.delete(entry.seq); }).then(function () {
                swap(document.getElementById(entry.item), html);
                return true;
              });
            });
          }, function () { mark(form, WAITING); return false; });
        });
      });
      return chain;
    }).catch(function () { /* the next attempt tries again */ }).then(function () {
      busy = false;
      if (again) { again = false; return flush(); }
    });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form.dvi-item")) { return; }
    evt.preventDefault();
    evt.stopPropagation();
    var fields = [["save_key", newKey()]];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { fields.push([name, value]); } else if (value.size > 0) {
        fields.push([name, { blob: value, name: value.name }]);
      }
    });
    // FormData(form) leaves out the button pressed; "Remove the clip" is one that says so.
    var by = evt.submitter;
    if (by && by.name) { fields.push([by.name, by.value]); }
    var entry = { url: form.getAttribute("action"), item: form.id, fields: fields };
    tx("readwrite", function (s) { s.add(entry); }).then(function () {
      mark(form, WAITING);
      return flush();
    }, function () {
      form.submit();  // no storage on this device: an ordinary post
    });
  }, true);

  window.addEventListener("online", flush);
  tx("readonly", function (s) { return s.getAll(); }).then(function (entries) {
    entries.forEach(function (e) {
      var form = document.getElementById(e.item);
      if (form) { refill(form, e.fields); mark(form, WAITING); }
    });
    return flush();
  }).catch(function () { /* nothing stored */ });
})();
