// Patchbay console: progressive enhancement only. Every page works without this file.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  var text = source.value !== undefined ? source.value : source.textContent;
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); });
  } else if (source.select) {
    source.select();
    document.execCommand("copy");
    done();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
// Hosted connect page: the My Domain field shows only while "My Domain" is chosen.
(function () {
  var sync = function (radio) {
    var form = radio.form;
    if (!form) return;
    var trigger = form.querySelector("[data-reveals]");
    if (!trigger) return;
    var row = document.getElementById(trigger.getAttribute("data-reveals"));
    if (row) row.hidden = !trigger.checked;
  };
  document.addEventListener("change", function (event) {
    if (event.target.name === "login_host") sync(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-reveals]").forEach(sync);
  });
})();
