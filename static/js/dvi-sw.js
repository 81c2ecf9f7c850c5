// M4S inspection screens: a service worker (scope /admin/inspections/) that serves the pages
// and their scripts from a cache when the workshop has no network. Saves are not its business:
// dvi-offline.js keeps them on the device and sends them when the connection returns.
"use strict";
var CACHE = "m4s-dvi-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (evt) {
  evt.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n !== CACHE; })
        .map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// Network first for every GET of this origin (the page is always fresh when the network is
// there); the last good answer when it is not. Video clips are left to the browser: players
// ask for byte ranges (a 206 cannot be cached) and a clip is too big to keep on the device.
self.addEventListener("fetch", function (evt) {
  var req = evt.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) { return; }
  if (req.headers.has("range") || /\/clip$/.test(new URL(req.url).pathname)) { return; }
  evt.respondWith(
    fetch(req).then(function (res) {
      if (res.status === 200) {
        var copy = res.clone();
        caches.open(CACHE).then(function (c) { c.put(req, copy); });
      }
      return res;
    }).catch(function () {
      return caches.match(req).then(function (hit) { return hit || Response.error(); });
    })
  );
});
