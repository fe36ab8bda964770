// The doors view: one WebSocket to ws/doors/, the whole view re-rendered from each "doors"
// message (the server sends one only when something changed; no build step).
//
// Ages ("12 s ago") tick every second from the server's own clock: each message carries the
// server's "now", and the offset to this screen's clock is kept. Modes, banners, heartbeats and
// reconnects as on the board (board.js): polling (Redis down) shows an amber banner, a lost
// connection a red one and reconnects with backoff (0.5 s doubling to 10 s, with jitter).
(function () {
  "use strict";
  var view = document.getElementById("doors-view");
  var doorRows = document.getElementById("doors");
  var sessionRows = document.getElementById("sessions");
  var noDoors = document.getElementById("no-doors");
  var banner = document.getElementById("banner");
  var statusEl = document.getElementById("status");
  var url = view.dataset.ws;
  var heartbeatMs = Math.max(1000, parseFloat(view.dataset.heartbeat || "10") * 1000);
  var state = null;
  var offsetMs = 0; // server clock minus this screen's clock
  var socket = null;
  var delay = 500;
  var watchdog = null;
  var mode = null;
  var connected = false;
  var stopped = false;
  var zone = view.dataset.timeZone || "UTC";
  var zoneName = view.dataset.zone || "";
  var clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  } catch (e) {
    zoneName = "";
    clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }

  function showBanner(text, lost) {
    banner.textContent = text;
    banner.className = lost ? "banner lost" : "banner";
    banner.hidden = false;
  }

  function refreshBanner() {
    if (stopped) return;
    if (!connected) {
      showBanner("Connection to the server lost: reconnecting… The numbers below may be out of date.", true);
      statusEl.textContent = "Reconnecting…";
      statusEl.className = "status";
    } else if (mode === "polling") {
      showBanner("Live updates are degraded (Redis unavailable): the doors view refreshes from the database about every second.", false);
      statusEl.textContent = "Polling";
      statusEl.className = "status";
    } else {
      banner.hidden = true;
      statusEl.textContent = "Live";
      statusEl.className = "status live";
    }
  }

  function ago(iso) {
    if (!iso) return "never";
    var seconds = Math.max(0, Math.round((Date.now() + offsetMs - new Date(iso).getTime()) / 1000));
    if (seconds < 120) return seconds + " s ago";
    if (seconds < 7200) return Math.floor(seconds / 60) + " min ago";
    return Math.floor(seconds / 3600) + " h ago";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function td(className, field, text) {
    var cell = el("td", className, text);
    if (field) cell.dataset.field = field;
    return cell;
  }

  function doorRow(door) {
    var row = el("tr");
    row.id = "d-" + door.id;
    row.className = (door.online ? "online" : "offline") + (door.alert ? " alert-" + door.alert : "");
    row.dataset.alert = door.alert || "";
    var name = td("", "name");
    name.appendChild(el("span", "dot"));
    name.appendChild(el("span", "name", door.name));
    name.appendChild(el("span", "sub", [door.location, door.online ? "online" : "offline"].filter(Boolean).join(" · ")));
    if (door.alert) name.appendChild(el("span", "alert", door.alert_text));
    row.appendChild(name);
    var seen = td("", "seen", ago(door.last_seen_at));
    seen.dataset.at = door.last_seen_at || "";
    if (door.last_seen_at) seen.title = clockFormat.format(new Date(door.last_seen_at)) + (zoneName ? " " + zoneName : "");
    row.appendChild(seen);
    row.appendChild(td("num", "scans_1m", door.scans_1m));
    row.appendChild(td("num", "scans_10m", door.scans_10m));
    var accepted = door.checked_in_10m + " in · " + door.checked_out_10m + " out";
    if (door.undone_10m) accepted += " · " + door.undone_10m + " undone";
    row.appendChild(td("", "accepted", accepted));
    var refused = td("refused", "refused", door.refused_10m ? "" : "none");
    door.refused_by_reason_10m.forEach(function (r, i) {
      refused.appendChild(document.createTextNode((i ? ", " : "") + r.count + " " + r.label));
    });
    row.appendChild(refused);
    var latency = door.latency_p50_ms === null ? "–" : door.latency_p50_ms + " / " + door.latency_p95_ms + " ms";
    row.appendChild(td("num latency", "latency", latency));
    return row;
  }

  function sessionRow(session) {
    var row = el("tr");
    row.id = "s-" + session.id;
    row.appendChild(td("name", "title", session.title));
    row.appendChild(td("num", "inside", session.inside + " / " + session.capacity));
    row.appendChild(td("num", "scans_1m", session.scans_1m));
    row.appendChild(td("num", "scans_10m", session.scans_10m));
    row.appendChild(td("num", "accepted", session.accepted_10m));
    row.appendChild(td("num", "refused", session.refused_10m));
    return row;
  }

  function render() {
    if (!state) return;
    doorRows.replaceChildren.apply(doorRows, state.doors.map(doorRow));
    sessionRows.replaceChildren.apply(sessionRows, state.sessions.map(sessionRow));
    noDoors.hidden = state.doors.length > 0;
  }

  function tick() { // ages move on between messages
    Array.prototype.forEach.call(doorRows.querySelectorAll("[data-field='seen']"), function (cell) {
      cell.textContent = ago(cell.dataset.at);
    });
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    armWatchdog();
    if (message.type === "mode") {
      mode = message.mode;
    } else if (message.type === "doors") {
      offsetMs = new Date(message.now).getTime() - Date.now();
      state = message;
      render();
    }
    refreshBanner();
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (socket) socket.close(); }, heartbeatMs * 2.5);
  }

  function connect() {
    var target = url;
    if (target.indexOf("ws") !== 0) { // a path: this host
      target = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + target;
    }
    socket = new WebSocket(target);
    socket.onopen = function () { connected = true; delay = 500; armWatchdog(); };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      clearTimeout(watchdog);
      socket = null;
      connected = false;
      if (event.code === 4401) {
        stopped = true;
        showBanner("Signed out: sign in again to see the doors.", true);
        var link = el("a", "", " Sign in");
        link.href = view.dataset.login;
        banner.appendChild(link);
        return;
      }
      if (event.code === 4403) {
        stopped = true;
        showBanner("This account may not see the doors view.", true);
        return;
      }
      refreshBanner();
      var wait = delay * (0.75 + Math.random() * 0.5);
      delay = Math.min(delay * 2, 10000);
      setTimeout(connect, wait);
    };
  }

  setInterval(tick, 1000);
  connected = true; // no "lost" banner before the first attempt had a chance
  connect();
})();
