// The door page offline (docs/door-offline.md). While the server answers, this door keeps:
// - a lease of a few places at its session (POST /api/sessions/{id}/leases/, renewed before
//   renew_after): places set aside for it, so what it admits offline never overbooks the room;
// - the session's offline pack (GET /api/sessions/{id}/offline-pack/): tickets by a hash of
//   their code, each name encrypted with a key derived from the code, who is inside by hash.
// When a scan gets no answer (door.js: a failure, a 5xx, or nothing within 2 s) it is decided here:
// admitted (offline) on one of the lease's places, already inside, full (no place left, or the
// lease expired: never past expires_at), unknown ticket. Admissions and check-outs are queued in
// IndexedDB (a reload keeps them) and synced oldest first as soon as the server answers
// (POST /api/leases/{id}/sync/), idempotent by nonce: a sync whose answer was lost is sent again
// with the same nonces. The sync's lease answer is the truth for the places left.
//
// Needs a secure context (HTTPS, or localhost) for crypto.subtle and the service worker.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var capable = !!(form && window.isSecureContext && window.indexedDB && window.crypto &&
                   window.crypto.subtle && window.fetch && window.AbortController);
  var api = {ready: function () { return false; }, offline: function () { return false; }};
  window.DoorOffline = api;
  if (!capable) return; // door.js keeps its online-only behaviour
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(form.getAttribute("data-worker"),
      {scope: form.getAttribute("data-page")}).catch(function () {});
  }

  var SCAN_WAIT_MS = 2000; // a scan not answered within this is decided here
  var CALL_WAIT_MS = 5000; // lease, sync, pack calls in the background
  var TICK_MS = 3000;
  var PACK_EVERY_MS = 60000;
  var LEASE_PLACES = 5; // asked; the server grants at most its LEASE_MAX_PLACES / fraction
  var EXPIRY_MARGIN_MS = 5000; // stop admitting this long before the lease expires
  var SYNC_BATCH = 50;
  var CONFLICTS_KEPT = 20;
  var session = form.getAttribute("data-session");
  var apiRoot = form.getAttribute("data-api");
  var probeUrl = form.getAttribute("data-probe");
  var banner = document.getElementById("offline-banner");
  var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var enc = new TextEncoder();

  var st = {pack: null, entries: {}, inside: {}, lease: null, marks: {}, conflicts: [], queue: [],
            offline: false, packAt: 0, problem: "", synced: null, notes: []};
  var loaded = null;
  var serialChain = Promise.resolve();
  var dbOpen = null;

  // --- IndexedDB: "queue" (the scans to sync, in order) and "state" (pack, lease, marks) ---
  function db() {
    if (!dbOpen) {
      dbOpen = new Promise(function (resolve, reject) {
        var request = indexedDB.open("door-offline", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("queue", {keyPath: "seq", autoIncrement: true});
          request.result.createObjectStore("state", {keyPath: "key"});
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbOpen;
  }

  function tx(name, mode, work) {
    return db().then(function (handle) {
      return new Promise(function (resolve, reject) {
        var t = handle.transaction(name, mode);
        var request = work(t.objectStore(name));
        t.oncomplete = function () { resolve(request ? request.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function stateGet(key) { return tx("state", "readonly", function (s) { return s.get(key); }); }
  function statePut(key, value) {
    return tx("state", "readwrite", function (s) { return s.put({key: key, value: value}); });
  }
  function stateDelete(key) { return tx("state", "readwrite", function (s) { return s.delete(key); }); }

  // --- the pack's derivation (door_app/offline_pack.py) ---
  function b64(buffer) {
    var text = btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)));
    return text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }

  function derive(code) {
    var kdf = st.pack.kdf;
    var subtle = window.crypto.subtle;
    function info(text) {
      return {name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(text)};
    }
    return subtle.importKey("raw", enc.encode(code.trim().toUpperCase()), "PBKDF2", false,
      ["deriveBits"]).then(function (base) {
      return subtle.deriveBits({name: "PBKDF2", hash: kdf.hash, salt: unb64(st.pack.salt),
                                iterations: kdf.iterations}, base, 256);
    }).then(function (master) {
      return subtle.importKey("raw", master, "HKDF", false, ["deriveBits", "deriveKey"]);
    }).then(function (hkdf) {
      return Promise.all([
        subtle.deriveBits(info(kdf.hash_info), hkdf, 256),
        subtle.deriveKey(info(kdf.key_info), hkdf, {name: "AES-GCM", length: 256}, false, ["decrypt"])
      ]);
    }).then(function (both) { return {h: b64(both[0]), key: both[1]}; });
  }

  function nameOpen(sealed, key) {
    var raw = unb64(sealed);
    var size = st.pack.kdf.nonce_bytes;
    return window.crypto.subtle.decrypt(
      {name: "AES-GCM", iv: raw.slice(0, size), additionalData: enc.encode(st.pack.session.id)},
      key, raw.slice(size)
    ).then(function (plain) { return new TextDecoder().decode(plain); });
  }

  // --- server calls: JSON, the page's CSRF token, a deadline ---
  function call(method, url, body, waitMs) {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, waitMs);
    var headers = {"Accept": "application/json", "X-CSRFToken": csrf};
    if (body) headers["Content-Type"] = "application/json";
    var sent = Date.now();
    return fetch(url, {method: method, credentials: "same-origin", headers: headers,
                       body: body ? JSON.stringify(body) : undefined, signal: abort.signal})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          clearTimeout(timer);
          var date = Date.parse(response.headers.get("Date") || "");
          // The server's clock minus ours (1 s resolution): lease times are read in ours.
          var skew = isNaN(date) ? 0 : date - (sent + Date.now()) / 2;
          if (response.status >= 500) wentOffline();
          return {status: response.status, body: data, skew: skew};
        });
      }, function (error) {
        clearTimeout(timer);
        wentOffline();
        throw error;
      });
  }

  function serial(work) { // lease and sync calls one at a time: a lease answer never races a sync's
    var next = serialChain.then(work, work);
    serialChain = next.catch(function () {});
    return next;
  }

  function wentOffline() {
    if (!st.offline) { st.offline = true; render(); }
  }

  function wentOnline() {
    if (st.offline) { st.offline = false; render(); }
  }

  // --- the lease ---
  function leaseApply(data, skew) {
    if (!data || !data.lease || data.state === "settled") {
      st.lease = null;
      return stateDelete("lease:" + session);
    }
    st.lease = {id: data.lease, places: data.places, room: data.room,
                expiresAt: Date.parse(data.expires_at) - skew,
                renewAfter: Date.parse(data.renew_after) - skew};
    return statePut("lease:" + session, st.lease);
  }

  function leaseKeep() {
    var lease = st.lease;
    var now = Date.now();
    if (lease && now < lease.renewAfter && now < lease.expiresAt - EXPIRY_MARGIN_MS) {
      return Promise.resolve();
    }
    var url = lease && now < lease.expiresAt
      ? apiRoot + "leases/" + lease.id + "/renew/"
      : apiRoot + "sessions/" + session + "/leases/";
    return call("POST", url, {places: LEASE_PLACES}, CALL_WAIT_MS).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        st.problem = "";
        return leaseApply(answer.body, answer.skew);
      }
      if (lease && (answer.status === 404 || answer.body.reason === "lease_settled")) {
        return leaseApply(null); // gone or settled: a new one at the next tick
      }
      st.problem = answer.status === 409
        ? "No places to hold for offline scans: " + (answer.body.detail || "the session is full.")
        : "Places for offline scans not held (HTTP " + answer.status + ").";
    });
  }

  function leaseLive() {
    return st.lease && Date.now() < st.lease.expiresAt - EXPIRY_MARGIN_MS;
  }

  function placesLeft() {
    var lease = st.lease;
    if (!lease) return 0;
    var room = lease.room;
    st.queue.forEach(function (scan) {
      if (scan.lease !== lease.id) return;
      if (scan.direction === "in") room -= 1;
      else if (scan.credit) room += 1;
    });
    return Math.max(0, room);
  }

  // --- the pack ---
  function packApply(pack, requestedAt) {
    st.pack = pack;
    st.entries = {};
    pack.entries.forEach(function (entry) { st.entries[entry.h] = entry.n; });
    st.inside = {};
    pack.inside.forEach(function (h) { st.inside[h] = true; });
    st.packAt = requestedAt;
    var queued = {};
    st.queue.forEach(function (scan) { queued[scan.h] = true; });
    Object.keys(st.marks).forEach(function (h) { // the server knew these when it built the pack
      if (st.marks[h].at < requestedAt && !queued[h]) delete st.marks[h];
    });
  }

  function noteMark(note) {
    return derive(note.code).then(function (derived) {
      st.marks[derived.h] = {inside: note.inside, at: note.at};
      return statePut("marks:" + session, st.marks);
    }).catch(function () {});
  }

  function packKeep(force) {
    if (!force && st.pack && Date.now() - st.packAt < PACK_EVERY_MS) return Promise.resolve();
    var requestedAt = Date.now();
    return call("GET", apiRoot + "sessions/" + session + "/offline-pack/", null, 20000)
      .then(function (answer) {
        if (answer.status !== 200) return;
        packApply(answer.body, requestedAt);
        st.notes.splice(0).forEach(function (note) { if (note.at >= requestedAt) noteMark(note); });
        return Promise.all([statePut("pack:" + session, {pack: answer.body, at: requestedAt}),
                            statePut("marks:" + session, st.marks)]);
      });
  }

  // --- the queue and its sync ---
  function leaseOf(scan) { return scan.lease || (st.lease && scan.session === session ? st.lease.id : ""); }

  function syncOnce() {
    if (!st.queue.length) return Promise.resolve("empty");
    var leaseId = leaseOf(st.queue[0]);
    if (!leaseId) return Promise.resolve("no_lease");
    var batch = [];
    for (var i = 0; i < st.queue.length && batch.length < SYNC_BATCH; i++) {
      if (leaseOf(st.queue[i]) !== leaseId) break;
      batch.push(st.queue[i]);
    }
    var body = {
      scans: batch.map(function (scan) {
        return {ticket_code: scan.ticket_code, nonce: scan.nonce, scanned_at: scan.scanned_at,
                direction: scan.direction};
      }),
      "return": 0,
      sync_id: "sync-" + batch[0].nonce + "-" + batch.length
    };
    return call("POST", apiRoot + "leases/" + leaseId + "/sync/", body, CALL_WAIT_MS)
      .then(function (answer) {
        if (answer.status !== 200) {
          st.problem = "Offline scans not synced yet: " + (answer.body.detail ||
            "HTTP " + answer.status) + ". They stay queued on this device.";
          return "refused";
        }
        st.problem = "";
        return syncDone(batch, answer, leaseId).then(function (left) {
          return left ? "pending" : "synced"; // pending: synced again at the next tick
        });
      });
  }

  function syncDone(batch, answer, leaseId) {
    var results = answer.body.results || [];
    results.forEach(function (result) {
      if (result.conflict) {
        st.conflicts.unshift({name: result.participant_name || "", conflict: result.conflict,
                              nonce: result.nonce});
      }
    });
    st.conflicts = st.conflicts.slice(0, CONFLICTS_KEPT);
    // A scan whose online attempt is still deciding on the server ("check_in_in_progress") is not
    // decided yet: it stays queued, and a later sync (same nonce) gets its verdict.
    var pending = results.filter(function (r) { return r.reason === "check_in_in_progress"; })
      .map(function (r) { return r.nonce; });
    var done = batch.filter(function (scan) { return pending.indexOf(scan.nonce) === -1; });
    var seqs = done.map(function (scan) { return scan.seq; });
    st.queue = st.queue.filter(function (scan) { return seqs.indexOf(scan.seq) === -1; });
    st.synced = {count: done.length, conflicts: results.filter(function (r) { return r.conflict; }).length};
    var writes = [
      tx("queue", "readwrite", function (s) { seqs.forEach(function (seq) { s.delete(seq); }); }),
      statePut("conflicts:" + session, st.conflicts)
    ];
    if (st.lease && st.lease.id === leaseId) writes.push(leaseApply(answer.body.lease, answer.skew));
    return Promise.all(writes).then(render).then(function () { return pending.length; });
  }

  function sync() {
    return serial(function loop() {
      return syncOnce().then(function (outcome) {
        if (outcome === "synced" && st.queue.length) return loop();
        if (outcome === "synced") packKeep(true).catch(function () {});
        return outcome;
      });
    });
  }

  function record(scan) {
    return tx("queue", "readwrite", function (s) { return s.add(scan); }).then(function (seq) {
      scan.seq = seq;
      st.queue.push(scan);
      st.marks[scan.h] = {inside: scan.direction === "in", at: Date.now()};
      return statePut("marks:" + session, st.marks);
    });
  }

  // --- deciding a scan here ---
  function verdict(reason, tone, headline, name, code, note) {
    return {reason: reason, tone: tone, headline: headline, name: name, code: code, note: note};
  }

  function decide(code, direction, nonce) {
    return loaded.then(function () {
      return derive(code);
    }).then(function (derived) {
      var sealed = st.entries[derived.h];
      if (!sealed) {
        return verdict("unknown_offline", "stop", "Unknown ticket", "", code,
          "Not in this door's offline list. Check the code, or send the person to the desk.");
      }
      return nameOpen(sealed, derived.key).then(function (name) {
        var mark = st.marks[derived.h];
        var inside = mark ? mark.inside : !!st.inside[derived.h];
        var scan = {session: session, lease: st.lease ? st.lease.id : "", nonce: nonce,
                    ticket_code: code.trim(), direction: direction, h: derived.h,
                    scanned_at: new Date().toISOString()};
        if (direction === "out") {
          scan.credit = inside && !!st.lease; // a place back to this door only if it was taken
          return record(scan).then(function () {
            return verdict("checked_out_offline", "out", "Checked out (offline)", name, code,
              inside ? "" : "Not inside by this door's list: recorded; the server decides when it answers.");
          });
        }
        if (inside) {
          return verdict("already_inside_offline", "warn", "Already inside", name, code,
            "By this door's offline list. Not recorded again.");
        }
        if (!leaseLive() || placesLeft() < 1) {
          return verdict("full_offline", "stop", "Full — this door's offline places are used up",
            name, code, st.lease && leaseLive()
              ? "Not admitted. Wait for the network, or send the person to another door."
              : "Not admitted: this door holds no places now (its lease expired or was never granted).");
        }
        return record(scan).then(function () {
          return verdict("admitted_offline", "ok", "Admitted (offline)", name, code,
            "Queued: sent to the server when it answers.");
        });
      });
    }).then(function (answer) { render(); return answer; });
  }

  // --- what the door team sees ---
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hour12: false});
  }

  var NAMES = {admitted_elsewhere: "admitted elsewhere", ticket_not_found: "ticket unknown to the server",
               participant_deleted: "participant deleted", lease_exhausted: "no leased place left",
               lease_expired: "lease had expired", not_checked_in: "was not checked in"};

  function render() {
    if (!banner) return;
    var queued = st.queue.length;
    var left = placesLeft();
    var lines = [];
    if (st.offline) {
      lines.push("Offline: answers come from this door's copy. " + queued + " scan" +
                 (queued === 1 ? "" : "s") + " queued, " + left + " place" + (left === 1 ? "" : "s") +
                 " left" + (st.lease ? " (until " + clock(st.lease.expiresAt - EXPIRY_MARGIN_MS) + ")" : "") + ".");
    } else if (queued) {
      lines.push("Back online: syncing " + queued + " queued scan" + (queued === 1 ? "" : "s") + "…");
    } else if (st.synced) {
      lines.push("Synced " + st.synced.count + " offline scan" + (st.synced.count === 1 ? "" : "s") +
                 (st.synced.conflicts ? ", " + st.synced.conflicts + " with a conflict" : "") + ".");
    }
    if (st.problem) lines.push(st.problem);
    banner.textContent = "";
    lines.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      banner.appendChild(line);
    });
    if (st.conflicts.length) {
      var list = document.createElement("ul");
      list.className = "conflicts";
      st.conflicts.forEach(function (item) {
        var entry = document.createElement("li");
        entry.textContent = "Conflict: " + (item.name || "a ticket") + " — " + (NAMES[item.conflict] || item.conflict);
        list.appendChild(entry);
      });
      banner.appendChild(list);
      var seen = document.createElement("button");
      seen.type = "button";
      seen.className = "link";
      seen.id = "conflicts-seen";
      seen.textContent = "Seen";
      seen.addEventListener("click", function () {
        st.conflicts = [];
        statePut("conflicts:" + session, st.conflicts).then(render);
        document.getElementById("code").focus();
      });
      banner.appendChild(seen);
    }
    banner.hidden = !banner.firstChild;
    banner.className = "offline-banner" + (st.offline ? " is-offline" : "");
    var body = document.body;
    body.setAttribute("data-offline", st.offline ? "offline" : "online");
    body.setAttribute("data-queued", String(queued));
    body.setAttribute("data-places-left", String(left));
    body.setAttribute("data-offline-ready", ready() && st.lease ? "1" : ready() ? "pack" : "");
  }

  function ready() { return !!st.pack && st.pack.session.id === session; }

  // --- the loop: probe while offline; online, sync, keep the lease and the pack ---
  function probe() {
    return call("GET", probeUrl, null, SCAN_WAIT_MS).then(function (answer) {
      if (answer.status < 500) wentOnline();
    }, function () {});
  }

  function tick() {
    var work = st.offline ? probe() : Promise.resolve();
    work.then(function () {
      if (st.offline) return;
      return sync().then(function () { return serial(leaseKeep); }).then(function () {
        return packKeep(false);
      });
    }).catch(function () {}).then(function () {
      render();
      setTimeout(tick, TICK_MS);
    });
  }

  loaded = Promise.all([
    stateGet("pack:" + session), stateGet("lease:" + session), stateGet("marks:" + session),
    stateGet("conflicts:" + session), tx("queue", "readonly", function (s) { return s.getAll(); })
  ]).then(function (kept) {
    st.marks = kept[2] ? kept[2].value : {};
    st.conflicts = kept[3] ? kept[3].value : [];
    st.queue = kept[4] || [];
    st.lease = kept[1] ? kept[1].value : null;
    if (kept[0]) packApply(kept[0].value.pack, kept[0].value.at);
    render();
  }).catch(function () { /* no IndexedDB here (private mode?): online only */ });
  loaded.then(tick);

  // Leaving the session (Change session, Sign out): the unused places go back to the session at
  // once, not when the lease expires (after the queue is synced; at most LEAVE_WAIT_MS).
  var LEAVE_WAIT_MS = 3000;

  function giveBack() {
    if (st.offline || !st.lease) return Promise.resolve();
    return sync().then(function () {
      var lease = st.lease;
      if (st.queue.length || !lease || lease.room < 1) return;
      var body = {scans: [], "return": lease.room, sync_id: "return-" + lease.id + "-" + Date.now()};
      return call("POST", apiRoot + "leases/" + lease.id + "/sync/", body, LEAVE_WAIT_MS)
        .then(function (answer) { if (answer.status === 200) return leaseApply(null); });
    });
  }

  function leaving() {
    return Promise.race([giveBack().catch(function () {}),
                         new Promise(function (resolve) { setTimeout(resolve, LEAVE_WAIT_MS); })]);
  }

  var change = document.querySelector("a.change");
  if (change) {
    change.addEventListener("click", function (event) {
      event.preventDefault();
      if (st.offline) {
        window.alert("No connection: the session can be changed once the server answers again.");
        return;
      }
      leaving().then(function () { window.location.assign(change.href); });
    });
  }

  // Signing out keeps nothing of this door on the device, unless scans are still to be synced.
  var signout = document.querySelector("form.signout");
  if (signout) {
    signout.addEventListener("submit", function (event) {
      if (st.queue.length) {
        event.preventDefault();
        window.alert(st.queue.length + " offline scans are not synced yet. Sign out once the " +
                     "server has them (the banner says so).");
        return;
      }
      if (signout.getAttribute("data-cleared")) return;
      event.preventDefault();
      var wipe = [leaving().then(function () { return new Promise(function (resolve) {
        db().then(function (handle) { handle.close(); }).catch(function () {}).then(function () {
          var request = indexedDB.deleteDatabase("door-offline");
          request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
        });
      }); })];
      if (window.caches) {
        wipe.push(caches.keys().then(function (names) {
          return Promise.all(names.map(function (name) { return caches.delete(name); }));
        }));
      }
      Promise.all(wipe).catch(function () {}).then(function () {
        signout.setAttribute("data-cleared", "1");
        signout.submit();
      });
    });
  }

  api.ready = function () { return ready(); };
  api.offline = function () { return st.offline && ready(); };
  api.waitMs = SCAN_WAIT_MS;
  api.decide = decide;
  api.wentOffline = wentOffline;
  api.wentOnline = function () { wentOnline(); };
  // Before an online scan: the queued ones first (their order is the door's). "unreachable": the
  // server did not answer the sync either, so this scan is decided here too.
  api.flush = function () {
    if (!st.queue.length) return Promise.resolve("empty");
    var late = new Promise(function (resolve) {
      setTimeout(function () { resolve("late"); }, SCAN_WAIT_MS);
    });
    return Promise.race([sync().catch(function () { return "unreachable"; }), late])
      .then(function (outcome) {
        if (outcome !== "late") return outcome;
        wentOffline(); // the sync goes on in the background; this scan is decided here
        return "unreachable";
      });
  };
  api.render = render;
  // Online, the session full for everyone (this door's held places count as taken): the person
  // may still come in on one of the places this door holds, as a synced admission would.
  api.admitOnLease = function (code, nonce) {
    if (!ready() || !leaseLive() || placesLeft() < 1 || st.queue.length) {
      return Promise.resolve(null);
    }
    var lease = st.lease;
    var scan = {ticket_code: code.trim(), nonce: nonce + "-lease", direction: "in",
                scanned_at: new Date().toISOString()};
    return serial(function () {
      return call("POST", apiRoot + "leases/" + lease.id + "/sync/", {scans: [scan], "return": 0},
                  SCAN_WAIT_MS).then(function (answer) {
        if (answer.status !== 200) return null;
        var result = (answer.body.results || [])[0] || {};
        return leaseApply(answer.body.lease, answer.skew).then(function () {
          if (result.reason !== "checked_in" || result.conflict) return null;
          noteOnline(code, "checked_in");
          render();
          return verdict("checked_in_on_lease", "ok", "Checked in", result.participant_name, code,
            "On one of the places this door holds: the session is full for the other doors.");
        });
      });
    }).catch(function () { return null; });
  };
  // An online answer: this door's list learns it at once (the next pack would, a minute later).
  api.noteOnline = noteOnline;
  function noteOnline(code, reason) {
    var inside = {checked_in: true, already_checked_in: true, checked_out: false,
                  not_checked_in: false}[reason];
    if (inside === undefined) return;
    var note = {code: code, inside: inside, at: Date.now()};
    if (ready()) noteMark(note);
    else st.notes.push(note); // no pack yet: applied if the pack turns out older than the answer
  }
})();
