// Timelines place their blocks from data attributes: the CSP (style-src 'self') forbids inline
// style attributes, but a script from 'self' may set CSS custom properties.
(function () {
  function place(root) {
    root.querySelectorAll("[data-hours]").forEach(function (el) {
      el.style.setProperty("--hours", el.dataset.hours);
    });
    root.querySelectorAll("[data-start]").forEach(function (el) {
      el.style.setProperty("--start", el.dataset.start);
      if (el.dataset.span) { el.style.setProperty("--span", el.dataset.span); }
    });
    root.querySelectorAll("[data-at]").forEach(function (el) {
      el.style.setProperty("--at", el.dataset.at);
    });
  }
  // A "Repeat weekly" checkbox shows its fields only when ticked (they work without script too).
  function repeat(root) {
    root.querySelectorAll("[data-repeat-toggle]").forEach(function (box) {
      var target = document.getElementById(box.dataset.repeatToggle);
      if (!target) { return; }
      var sync = function () { target.hidden = !box.checked; };
      box.addEventListener("change", sync);
      sync();
    });
  }
  function init() { place(document); repeat(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  document.addEventListener("htmx:afterSwap", function (e) { place(e.target); });
})();
