// Upload a file to an image: the raw file body is PUT to the image's upload endpoint, with progress
// (percent, speed, time left) and a cancel button. On the create page the image's fields are posted
// first (the file input has no name, so without JavaScript the form still creates the image).
(function () {
  var form = document.getElementById("upload-form");
  if (!form) return;
  var fileInput = document.getElementById("upload-file");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var status = document.getElementById("upload-status");
  var errors = document.getElementById("upload-errors");
  var submit = document.getElementById("upload-submit");
  var cancel = document.getElementById("upload-cancel");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var xhr = null;
  var created = null; // the image the create page made, deleted again on cancel

  function showError(text) {
    var p = document.createElement("p");
    p.textContent = text;
    errors.replaceChildren(p);
    submit.disabled = false;
    cancel.hidden = true;
  }

  function size(bytes) {
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
  }

  function duration(seconds) {
    if (!isFinite(seconds)) return "…";
    if (seconds < 60) return Math.ceil(seconds) + " s";
    return Math.floor(seconds / 60) + " min " + Math.ceil(seconds % 60) + " s";
  }

  function put(url, detailUrl, file) {
    var query = new URLSearchParams();
    ["disk_format", "container_format"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value && !created) query.set(name, field.value);
    });
    xhr = new XMLHttpRequest();
    xhr.open("PUT", url + (query.toString() ? "?" + query : ""));
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    var started = performance.now();
    progress.hidden = false;
    cancel.hidden = false;
    xhr.upload.onprogress = function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.floor((100 * event.loaded) / event.total);
      var seconds = (performance.now() - started) / 1000;
      var speed = seconds > 0 ? event.loaded / seconds : 0;
      bar.value = percent;
      bar.textContent = percent + "%";
      status.textContent = percent + "% · " + size(event.loaded) + " of " + size(event.total) +
        " · " + size(speed) + "/s · " + duration((event.total - event.loaded) / speed) + " left";
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200) {
        bar.value = 100;
        bar.textContent = "100%";
        status.textContent = "100% · " + size(file.size) + " uploaded · checksum " + body.checksum;
        cancel.hidden = true;
        window.location.assign(detailUrl);
      } else {
        showError(body.error || "The upload failed (" + xhr.status + "). The image is still queued.");
      }
    };
    xhr.onerror = function () { showError("The connection failed; the image is still queued. Try again."); };
    xhr.send(file);
  }

  cancel.addEventListener("click", function () {
    if (xhr) xhr.abort();
    status.textContent = "Upload cancelled.";
    cancel.hidden = true;
    submit.disabled = false;
    if (created) {
      // The create page made the image for this upload only: remove it again.
      var body = new FormData();
      body.append("csrfmiddlewaretoken", csrf);
      fetch(created.delete_url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf } });
      created = null;
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.replaceChildren();
    var file = fileInput.files[0];
    if (!file) { showError("Choose a file to upload."); return; }
    submit.disabled = true;
    if (form.dataset.uploadUrl) { put(form.dataset.uploadUrl, form.dataset.detailUrl, file); return; }
    fetch(form.dataset.createUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        var messages = [];
        Object.keys(result.body.errors || {}).forEach(function (key) {
          result.body.errors[key].forEach(function (m) {
            messages.push((key === "__all__" ? "" : key.replace("_", " ") + ": ") + (m.message || m));
          });
        });
        showError(messages.join(" ") || "The image could not be created.");
        return;
      }
      created = result.body;
      put(created.upload_url, created.detail_url, file);
    }).catch(function () { showError("The dashboard could not be reached. Try again."); });
  });
})();
