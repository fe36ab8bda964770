// The session picker: a scan never chooses a session. A keyboard-wedge scanner types the code and
// presses Enter into whatever has the focus; here every keystroke is caught (wherever the focus
// is), the code is kept and the page asks for the session. Only a tap or a click on a session
// chooses it (Enter or Space on a focused session button do nothing); the kept ticket then goes
// with the choice and is checked in at once.
(function () {
  "use strict";
  var choose = document.getElementById("choose-form");
  var hold = document.getElementById("hold-code");
  if (!choose || !hold) {
    return;
  }
  var keptField = choose.querySelector("input[name=code]");
  var notice = document.getElementById("kept");
  var keptCode = document.getElementById("kept-code");
  var lost = document.getElementById("kept-lost");
  var buffer = "";

  function keep(code) {
    code = code.trim();
    if (!code) {
      return;
    }
    var earlier = keptField.value;
    keptField.value = code;
    keptCode.textContent = code;
    lost.textContent = earlier && earlier !== code
      ? earlier + ", scanned before it, was not recorded: scan it again once the session is chosen."
      : "";
    notice.hidden = false;
  }

  function isSession(element) {
    return element && element.closest && element.closest(".sessions");
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    if (event.target === hold) { // typed (or scanned) into the field: it keeps the characters
      if (event.key === "Enter") {
        event.preventDefault();
        keep(hold.value);
        hold.value = "";
      }
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault(); // never activates a focused session button
      keep(buffer);
      buffer = "";
    } else if (event.key === " " && isSession(event.target)) {
      event.preventDefault(); // Space activates a button too
    } else if (event.key.length === 1) {
      event.preventDefault();
      buffer += event.key;
    }
  }, true);

  document.addEventListener("keyup", function (event) {
    if ((event.key === " " || event.key === "Enter") && isSession(event.target)) {
      event.preventDefault();
    }
  }, true);

  choose.addEventListener("click", function (event) {
    // A click without a pointer (detail 0) comes from the keyboard or a form's implicit submit.
    if (isSession(event.target) && event.detail === 0) {
      event.preventDefault();
    }
  }, true);
})();
