// Destructive actions ask first (templates/components/confirm.html). Without script, the link
// opens the action's confirmation page; with it, the same question opens in a <dialog> here.
(function () {
  document.addEventListener("click", function (e) {
    var link = e.target.closest("a[data-confirm]");
    if (link) {
      var dialog = document.getElementById(link.dataset.confirm);
      if (dialog && typeof dialog.showModal === "function") {
        e.preventDefault();
        dialog.showModal();
        // A reason to type if asked, else the harmless way out (Enter must not destroy by accident).
        var first = dialog.querySelector("input:not([type=hidden]), [data-confirm-close]");
        if (first) { first.focus(); }
      }
      return;
    }
    var close = e.target.closest("dialog [data-confirm-close]");
    if (close) {
      e.preventDefault();
      close.closest("dialog").close();
    }
  });
})();
