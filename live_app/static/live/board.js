// The live board: one WebSocket to ws/occupancy/, rows updated in place (no build step).
//
// Every message carries a session's whole state and its version: a state is applied only if its
// version is newer than the one shown, so a late or repeated message never turns a number back.
// The server says whether it runs "live" (Redis) or "polling" (MongoDB, Redis down): polling
// shows a banner. A lost connection shows a banner too and reconnects with backoff (0.5 s,
// doubling to 10 s, with jitter); silence for 2.5 heartbeats counts as lost.
(function () {
  "use strict";
  var table = document.getElementById("board");
  var rows = document.getElementById("rows");
  var empty = document.getElementById("empty");
  var banner = document.getElementById("banner");
  var statusEl = document.getElementById("status");
  var url = table.dataset.ws;
  var heartbeatMs = Math.max(1000, parseFloat(table.dataset.heartbeat || "10") * 1000);
  var sessions = {}; // id -> state
  var socket = null;
  var delay = 500;
  var watchdog = null;
  var mode = null;
  var connected = false;
  var stopped = false;
  // Times as staff read them everywhere (core/staff_time.py): 24-hour clock in the event's time
  // zone (not the screen's), its abbreviation as the server names it, "Mon 7 Dec" when not today.
  var zone = table.dataset.timeZone || "UTC";
  var zoneName = table.dataset.zone || "";
  function formatter(options) {
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, options));
    } catch (e) { // a zone this browser does not know: the screen's own, rather than no board
      zoneName = "";
      return new Intl.DateTimeFormat("en-GB", options);
    }
  }
  var dayFormat = formatter({ weekday: "short", day: "numeric", month: "short" });
  var clockFormat = formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  function day(moment) {
    var parts = {};
    dayFormat.formatToParts(moment).forEach(function (p) { parts[p.type] = p.value; });
    return parts.weekday + " " + parts.day + " " + parts.month;
  }

  function staffTime(iso) {
    var moment = new Date(iso);
    var text = clockFormat.format(moment);
    if (day(moment) !== day(new Date())) text = day(moment) + " " + text;
    return zoneName ? text + " " + zoneName : text;
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
      showBanner("Live updates are degraded (Redis unavailable): counts refresh from the database about every second.", false);
      statusEl.textContent = "Polling";
      statusEl.className = "status";
    } else {
      banner.hidden = true;
      statusEl.textContent = "Live";
      statusEl.className = "status live";
    }
  }

  function cell(row, name) { return row.querySelector("[data-field='" + name + "']"); }

  function rowFor(state) {
    var row = document.getElementById("s-" + state.id);
    if (row) return row;
    row = document.createElement("tr");
    row.id = "s-" + state.id;
    row.innerHTML = '<td class="title" data-field="title"></td><td data-field="starts"></td>' +
      '<td data-field="location"></td><td class="num" data-field="count"></td>' +
      '<td class="num" data-field="capacity"></td>' +
      '<td class="fill"><div class="bar"><span></span></div><span class="pct" data-field="pct"></span></td>';
    return row;
  }

  function render() {
    var list = Object.keys(sessions).map(function (id) { return sessions[id]; });
    list.sort(function (a, b) {
      return (a.starts_at || "").localeCompare(b.starts_at || "") || a.title.localeCompare(b.title);
    });
    list.forEach(function (state) {
      var row = rowFor(state);
      cell(row, "title").textContent = state.title;
      cell(row, "starts").textContent = state.starts_at ? staffTime(state.starts_at) : "";
      cell(row, "location").textContent = state.location;
      cell(row, "count").textContent = state.check_in_count;
      cell(row, "capacity").textContent = state.capacity;
      cell(row, "pct").textContent = state.fill_percent + " %";
      var bar = row.querySelector(".bar");
      bar.firstChild.style.width = Math.min(100, state.fill_percent) + "%";
      bar.className = "bar" + (state.fill_percent >= 100 ? " full" : state.fill_percent >= 80 ? " high" : "");
      row.dataset.version = state.version;
      rows.appendChild(row); // (re)placed in order; an existing row moves, keeping its cells
    });
    Array.prototype.slice.call(rows.children).forEach(function (row) {
      if (!sessions[row.id.slice(2)]) rows.removeChild(row);
    });
    empty.hidden = list.length > 0;
  }

  function apply(state, snapshot) {
    var have = sessions[state.id];
    if (have && (state.version < have.version || (state.version === have.version && !snapshot))) return;
    sessions[state.id] = state;
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    armWatchdog();
    if (message.type === "mode") {
      mode = message.mode;
    } else if (message.type === "snapshot") {
      var ids = {};
      message.sessions.forEach(function (s) { ids[s.id] = true; });
      Object.keys(sessions).forEach(function (id) { if (!ids[id]) delete sessions[id]; });
      message.sessions.forEach(function (s) { apply(s, true); });
    } else if (message.type === "session") {
      apply(message.session, false);
    } else if (message.type === "removed") {
      delete sessions[message.id];
    }
    render();
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
        showBanner("Signed out: sign in again to see the live board.", true);
        var link = document.createElement("a");
        link.href = table.dataset.login;
        link.textContent = " Sign in";
        banner.appendChild(link);
        return;
      }
      if (event.code === 4403) {
        stopped = true;
        showBanner("This account may not see the live board.", true);
        return;
      }
      refreshBanner();
      var wait = delay * (0.75 + Math.random() * 0.5);
      delay = Math.min(delay * 2, 10000);
      setTimeout(connect, wait);
    };
  }

  connected = true; // no "lost" banner before the first attempt had a chance
  connect();
})();
