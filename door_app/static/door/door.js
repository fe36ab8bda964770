// The door page without reloads: each scan is posted in the background while the next one can
// already be typed. The code field keeps the focus; Enter submits (keyboard-wedge scanners type
// the code and press Enter). Answers come back in scan order. A scan whose answer was lost is
// sent again with the same nonce, so it is never counted twice.
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

  function send(body, code, attempt) {
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-Door-Fetch": "1"}
    }).then(function (response) {
      if (response.redirected || response.status === 403) {
        window.location.assign(form.getAttribute("data-page")); // signed out, or session gone
        return;
      }
      if (!response.ok && response.status !== 400) {
        // Not an answer of the door page (a 503 while MongoDB is unreachable, a 500): say so.
        offline("The server could not answer " + code + " (HTTP " + response.status +
                "). Scan it again in a moment.");
        return;
      }
      return response.text().then(function (html) {
        offline("");
        live.innerHTML = html;
      });
    }, function () {
      if (attempt >= RETRIES) {
        offline("No connection: " + code + " was not answered. Scan it again.");
        return;
      }
      offline("No connection, retrying " + code + "…");
      return wait(1000).then(function () { return send(body, code, attempt + 1); });
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
    body.set("nonce", nonce());
    queue = queue.then(function () { return send(body, code, 1); }).catch(function () {
      offline("No answer for " + code + ". Scan it again.");
    }).then(function () {
      answered += 1;
      document.body.setAttribute("data-answered", String(answered));
    });
  });

  Array.prototype.forEach.call(form.querySelectorAll("input[name=mode]"), function (radio) {
    radio.addEventListener("change", function () {
      document.body.setAttribute("data-mode", radio.value);
      input.focus(); // back to scanning
    });
  });
})();
