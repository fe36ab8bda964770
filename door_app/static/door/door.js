// The door page without reloads: each scan is posted in the background while the next one can
// already be typed. The code field keeps the focus; Enter submits (keyboard-wedge scanners type
// the code and press Enter). Answers come back in scan order. A scan whose answer was lost is
// sent again with the same nonce, so it is never counted twice (check-ins and check-outs alike).
//
// Check-out mode is a state a door must not stay in by accident: it ends with the next scan, or
// after data-out-seconds without one (DOOR_CHECK_OUT_MODE_SECONDS), back to check-in.
//
// An accepted check-in's answer carries an Undo (posted the same way, in order with the scans);
// it is taken away after data-undo-seconds (UNDO_WINDOW_SECONDS), when the server would refuse it.
// Each request's round trip is measured here and sent with the next one (X-Door-Latency-Ms): the
// doors view shows what the door itself waited.
//
// Offline (offline.js, docs/door-offline.md): once the door holds the session's offline pack, a
// scan that fails, gets a 5xx or no answer within 2 s is decided on the device instead, queued,
// and synced when the server answers; scans stay in order (queued ones are synced before the next
// scan goes online).
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form || !window.fetch || !window.FormData) {
    return; // the plain form still works: the page reloads with each answer
  }
  var input = document.getElementById("code");
  var live = document.getElementById("live");
  var answered = 0;
  var queue = Promise.resolve();
  var RETRIES = 3;
  var outSeconds = parseFloat(form.getAttribute("data-out-seconds")) || 30;
  var outTimer = null;
  var outTick = null;
  var outLeft = document.getElementById("out-left");
  var scans = 0;
  var latency = null; // ms: the last answered request's round trip, sent with the next one
  var undoTimer = null;
  var door = window.DoorOffline || {ready: function () { return false; },
                                    offline: function () { return false; }};

  function setMode(mode) {
    var radio = form.querySelector("input[name=mode][value=" + mode + "]");
    radio.checked = true;
    document.body.setAttribute("data-mode", mode);
    clearTimeout(outTimer);
    clearInterval(outTick);
    if (mode === "out") {
      var ends = Date.now() + outSeconds * 1000;
      outTimer = setTimeout(function () { setMode("in"); }, outSeconds * 1000);
      var tick = function () {
        if (outLeft) outLeft.textContent = String(Math.max(0, Math.ceil((ends - Date.now()) / 1000)));
      };
      tick();
      outTick = setInterval(tick, 1000);
    }
  }

  function nonce() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    return "door-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function offline(text) {
    var note = document.getElementById("offline");
    if (!note) {
      note = document.createElement("div");
      note.id = "offline";
      note.className = "offline";
      live.parentNode.insertBefore(note, live);
    }
    note.textContent = text;
    note.hidden = !text;
  }

  function undoExpires() {
    // The Undo goes when the server would refuse it anyway (the window counts from the scan).
    clearTimeout(undoTimer);
    var undo = document.getElementById("undo-form");
    if (!undo) return;
    var seconds = parseFloat(undo.getAttribute("data-undo-seconds")) || 120;
    undoTimer = setTimeout(function () {
      if (undo.parentNode) undo.parentNode.removeChild(undo);
    }, seconds * 1000);
  }

  var SHORT = {admitted_offline: "in: offline", already_inside_offline: "in: already inside",
               full_offline: "in: full (offline)", unknown_offline: "unknown (offline)",
               checked_out_offline: "out: offline", checked_in_on_lease: "in: a held place"};

  function showHere(answer) {
    // An answer decided on this device: the same big coloured block, and a line in the last scans.
    var block = document.createElement("div");
    block.id = "result";
    block.className = "result verdict-" + answer.tone;
    block.setAttribute("data-reason", answer.reason);
    [["headline", answer.headline], ["name", answer.name], ["code", answer.name ? "" : answer.code],
     ["note", answer.note]].forEach(function (part) {
      if (!part[1]) return;
      var line = document.createElement("div");
      line.className = part[0];
      line.textContent = part[1];
      block.appendChild(line);
    });
    var shown = document.getElementById("result");
    if (shown) shown.parentNode.replaceChild(block, shown);
    else live.insertBefore(block, live.firstChild);
    var recent = document.getElementById("recent");
    if (recent) {
      var none = recent.querySelector(".none");
      if (none) recent.removeChild(none);
      var item = document.createElement("li");
      item.className = "tone-" + answer.tone;
      var at = document.createElement("time");
      at.textContent = new Date().toLocaleTimeString([], {hour12: false});
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = answer.name || answer.code;
      var what = document.createElement("span");
      what.className = "what";
      what.textContent = SHORT[answer.reason] || "offline";
      item.appendChild(at);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(who);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(what);
      recent.insertBefore(item, recent.firstChild);
    }
    offline("");
  }

  function decideHere(code, out, scanNonce) {
    return door.decide(code, out ? "out" : "in", scanNonce).then(showHere, function () {
      offline("No connection, and " + code + " could not be decided on this device. Scan it again.");
    });
  }

  function sendScan(url, body, code, out, scan) {
    // Offline-capable: the queued scans go first; known offline, decide here without waiting.
    var here = function () { return decideHere(code, out, body.get("nonce")); };
    if (!door.ready()) return send(url, body, code, 1, out, scan, here);
    if (door.offline()) return here();
    return door.flush().then(function (flushed) {
      return flushed === "unreachable" ? here() : send(url, body, code, 1, out, scan, here);
    });
  }

  function send(url, body, code, attempt, out, scan, here) {
    var headers = {"X-Door-Fetch": "1"};
    if (latency !== null) headers["X-Door-Latency-Ms"] = String(latency);
    var started = window.performance ? performance.now() : Date.now();
    var scanned = here; // a scan (not an undo): the offline list learns its answer
    here = here && door.ready() ? here : null; // decided here only with the offline pack
    var abort = here ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, door.waitMs) : null;
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: headers,
      signal: abort ? abort.signal : undefined
    }).then(function (response) {
      clearTimeout(timer);
      latency = Math.round((window.performance ? performance.now() : Date.now()) - started);
      if (response.redirected || response.status === 403) {
        window.location.assign(form.getAttribute("data-page")); // signed out, or session gone
        return;
      }
      if (!response.ok && response.status !== 400) {
        // Not an answer of the door page: a 503 "busy" (overload), a 503 while MongoDB is
        // unreachable, a 500. Busy: scan again in a moment (the server will answer); the others,
        // on an offline-capable door, are decided here.
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (here && response.status >= 500 && body.reason !== "busy") {
            door.wentOffline();
            return here();
          }
          offline(body.reason === "busy"
            ? "Busy: " + code + " was not answered. Scan it again in a moment."
            : "The server could not answer " + code + " (HTTP " + response.status +
              "). Scan it again in a moment.");
        });
      }
      return response.text().then(function (html) {
        if (here) door.wentOnline();
        offline("");
        live.innerHTML = html;
        undoExpires();
        var result = document.getElementById("result");
        var reason = result && result.getAttribute("data-reason");
        if (scanned && result && door.noteOnline) door.noteOnline(code, reason);
        if (scanned && reason === "session_full" && !out && door.admitOnLease) {
          return door.admitOnLease(code, body.get("nonce")).then(function (answer) {
            if (answer) showHere(answer);
          });
        }
        if (out && scan === scans && result && result.getAttribute("data-reason") === "invalid_code") {
          setMode("out"); // nothing was decided: the check-out is scanned again, as a check-out
        }
      });
    }, function () {
      clearTimeout(timer);
      if (here) {
        door.wentOffline(); // no answer, or none within 2 s: decided here (same nonce when synced)
        return here();
      }
      if (attempt >= RETRIES) {
        offline("No connection: " + code + " was not answered. Scan it again.");
        return;
      }
      offline("No connection, retrying " + code + "…");
      return wait(1000).then(function () {
        return send(url, body, code, attempt + 1, out, scan, scanned);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value.trim();
    input.value = "";
    input.focus();
    if (!code) {
      return;
    }
    var body = new FormData(form);
    body.set("code", code);
    body.set("nonce", nonce()); // one per scan, in either direction: a retry is answered once
    var out = body.get("mode") === "out";
    var scan = ++scans;
    setMode("in"); // check-out mode lasts one scan
    enqueue(function () { return sendScan(form.action, body, code, out, scan); }, code);
  });

  function enqueue(work, code) {
    queue = queue.then(work).catch(function () {
      offline("No answer for " + code + ". Scan it again.");
    }).then(function () {
      answered += 1;
      document.body.setAttribute("data-answered", String(answered));
    });
  }

  // The Undo of the last check-in: in the answer area, which every answer replaces.
  live.addEventListener("submit", function (event) {
    var undo = event.target;
    if (undo.id !== "undo-form") return;
    event.preventDefault();
    var button = undo.querySelector("button");
    if (button.disabled) return; // one Undo per answer (the server answers a repeat the same)
    button.disabled = true;
    clearTimeout(undoTimer);
    var undoBody = new FormData(undo);
    var undoScan = ++scans;
    enqueue(function () { return send(undo.action, undoBody, "the undo", 1, false, undoScan, null); },
            "the undo");
    input.focus(); // back to scanning while the undo is answered
  });

  Array.prototype.forEach.call(form.querySelectorAll("input[name=mode]"), function (radio) {
    radio.addEventListener("change", function () {
      setMode(radio.value);
      input.focus(); // back to scanning
    });
  });
  undoExpires(); // a page rendered with an answer (no script before it) offers its Undo too
  if (document.body.getAttribute("data-mode") === "out") {
    setMode("out"); // the page came back in check-out mode (a bad scan): the timeout runs again
  }
})();
