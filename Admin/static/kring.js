// Kring: one small script. The pages work without it; it only adds conveniences.
(function () {
  "use strict";
  // "/" focuses the search box, unless the person is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) return;
    var box = document.querySelector("[data-shortcut='/']");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });
  // A button or form with data-confirm asks first ("Sleutel intrekken?"); without the script the action just happens,
  // so only reversible or clearly labelled actions rely on it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // A running import: poll its progress every two seconds and show the report when it is done.
  document.addEventListener("DOMContentLoaded", function () {
    var block = document.querySelector("[data-progress]");
    if (!block || !window.fetch) return;
    var bar = block.querySelector("progress");
    var text = block.querySelector("[role=status]");
    function poll() {
      fetch(block.getAttribute("data-progress"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) return;
          bar.value = state.percent;
          bar.textContent = state.percent + "%";
          text.textContent = state.text;
          if (state.finished) { window.location.assign(block.getAttribute("data-reload")); } else { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  });
  // An error summary takes the focus, so a screen reader announces it and the keyboard starts there.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
  });
})();
