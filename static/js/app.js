// Small enhancements; every page works without them.
(function () {
  function announce(text, kind) {
    var region = document.getElementById("flash");
    if (!region) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "success");
    p.textContent = text;
    region.replaceChildren(p);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      announce("Project ID copied to the clipboard.");
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // Messages that htmx responses send with HX-Trigger: {"announce": {"text": …}}.
  document.addEventListener("announce", function (event) {
    announce(event.detail.text);
  });

  // A refused htmx action (403, 404, 409…) says so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = xhr.status === 404 ? "That image is no longer available to your project."
      : xhr.status === 403 ? "You are not allowed to do that. Nothing was changed."
      : "Something went wrong (" + xhr.status + "). Nothing was changed; reload and try again.";
    announce(text, "error");
  });
})();
