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

  // Keep keyboard focus where the user was when htmx swaps out the focused control (Remove,
  // Accept, Reject, Add Member…): the same row's next action, else the row now in its place, else
  // a field the server marked invalid, else the control's replacement, else the status message.
  var origin = null;

  function focusOn(el) {
    if (!el) return false;
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.focus();
    return document.activeElement === el;
  }

  function rowAction(row) {
    if (!row) return null;
    var picks = ["button:not([disabled])", "a.btn", "a[href]"];
    for (var i = 0; i < picks.length; i++) {
      var el = row.querySelector(picks[i]);
      if (el) return el;
    }
    return null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var row = elt.closest && elt.closest("tr[id]");
    var table = row && row.closest("table[id], table");
    origin = {
      id: document.activeElement && document.activeElement.id,
      rowId: row ? row.id : null,
      tableId: table && table.id ? table.id : null,
      index: row ? Array.prototype.indexOf.call(row.parentNode.children, row) : -1,
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    var from = origin;
    origin = null;
    if (!from || (active && active !== document.body && active.isConnected)) return;
    var invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid && focusOn(invalid)) return;
    if (from.rowId) {
      var same = document.getElementById(from.rowId);
      if (same && focusOn(rowAction(same))) return;
      var table = from.tableId && document.getElementById(from.tableId);
      if (table && table.tBodies[0]) {
        var rows = table.tBodies[0].rows;
        var next = rows[Math.min(from.index, rows.length - 1)];
        if (next && focusOn(rowAction(next))) return;
        if (focusOn(table)) return;
      }
    }
    if (from.id && focusOn(document.getElementById(from.id))) return;
    var flash = document.getElementById("flash");
    if (flash && flash.textContent.trim() && focusOn(flash)) return;
    focusOn(document.getElementById("main"));
  });

  // A project ID the lookup confirmed is no longer invalid (its stale error was swapped out).
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-confirms]").forEach(function (el) {
      var field = document.getElementById(el.getAttribute("data-confirms"));
      if (field) field.removeAttribute("aria-invalid");
    });
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
