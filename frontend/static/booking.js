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
  // Only durations that fit: each start says how long a booking from it can last (the free time
  // before closing or the next booking); longer durations are disabled. Without script the server
  // refuses them with a sentence saying why.
  function durations(root) {
    root.querySelectorAll("form.slot-picker").forEach(function (form) {
      var start = form.querySelector("select[name=starts_at]");
      var minutes = form.querySelector("select[name=minutes]");
      if (!start || !minutes) { return; }
      var sync = function () {
        var option = start.options[start.selectedIndex];
        var max = option ? parseInt(option.dataset.maxMinutes || "0", 10) : 0;
        var best = null;
        Array.prototype.forEach.call(minutes.options, function (o) {
          o.disabled = max > 0 && parseInt(o.value, 10) > max;
          if (!o.disabled) { best = o; }
        });
        if (minutes.selectedOptions[0] && minutes.selectedOptions[0].disabled && best) { best.selected = true; }
      };
      start.addEventListener("change", sync);
      sync();
    });
  }
  function init() { place(document); repeat(document); durations(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  document.addEventListener("htmx:afterSwap", function (e) { place(e.target); });
})();
