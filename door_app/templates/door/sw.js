{% autoescape off %}// The door page's service worker (scope /door/): the page opens without the network.
// Assets: from the cache, refreshed from the network when it answers. The page: from the network,
// else the copy without names kept here (the shell, fetched at install and whenever the page
// loads online). POSTs (scans, leases, syncs) never go through the cache: door.js and offline.js
// decide what a failed one means. docs/door-offline.md.
"use strict";
var VERSION = "{{ version }}";
var CACHE = "door-" + VERSION;
var ASSETS = {{ assets }};
var PAGE = "{{ page }}";
var SHELL = "{{ shell }}";
var SHELL_HEADER = "{{ shell_header }}";
var PAGE_WAIT_MS = 3000; // a network that swallows requests: show the shell after 3 s

function keepShell(cache) {
  return fetch(SHELL, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
    if (response.ok && response.headers.get(SHELL_HEADER)) return cache.put(SHELL, response);
  }).catch(function () { /* offline at install: kept at the next online visit */ });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS).then(function () { return keepShell(cache); });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("door-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function withDeadline(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

function page(request) {
  return withDeadline(fetch(request), PAGE_WAIT_MS).then(function (response) {
    if (response.ok && response.headers.get(SHELL_HEADER)) {
      // The scan page answered online: refresh the shell too (the page itself has names on it).
      caches.open(CACHE).then(keepShell);
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(SHELL); }).then(function (shell) {
      return shell || new Response(
        "<!DOCTYPE html><meta charset=utf-8><title>Door offline</title><p>No connection, and this " +
        "door page was never opened online on this device. Open it once with the network.</p>",
        {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
    });
  });
}

function asset(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, {ignoreSearch: true}).then(function (kept) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (kept) {
        fresh.catch(function () {});
        return kept;
      }
      return fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE && !url.searchParams.has("change")) {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(asset(request));
  }
});
{% endautoescape %}
