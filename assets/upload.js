/* Streams a chosen or dropped file to /api/v1/datasets (no base64 round trip through Dash),
   shows progress, and hands the server's answer to the app-upload-result store. */
(function () {
  "use strict";
  var RESULT_STORE = "app-upload-result";

  function zoneOf(element) {
    return element && element.closest ? element.closest(".vigil-drop-zone") : null;
  }

  function report(answer) {
    answer.at = Date.now();
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(RESULT_STORE, { data: answer });
    }
  }

  function send(zone, file) {
    var limit = parseInt(zone.getAttribute("data-max-bytes"), 10);
    var progress = zone.querySelector(".vigil-upload-progress");
    if (limit && file.size > limit) {
      report({
        error: "'" + file.name + "' is " + (file.size / 1e6).toFixed(1) +
          " MB, over the " + (limit / 1e6).toFixed(0) + " MB upload limit.",
      });
      return;
    }
    var form = new FormData();
    form.append("file", file, file.name);
    var request = new XMLHttpRequest();
    request.open("POST", "/api/v1/datasets");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable && progress) {
        progress.textContent = "Uploading " + file.name + ": " +
          Math.round((100 * event.loaded) / event.total) + "%";
      }
    };
    request.upload.onload = function () {
      if (progress) { progress.textContent = "Reading " + file.name + "…"; }
    };
    request.onload = function () {
      if (progress) { progress.textContent = ""; }
      var answer;
      try {
        answer = JSON.parse(request.responseText);
      } catch (error) {
        answer = { error: "The server could not take the file (HTTP " + request.status + ")." };
      }
      report(answer);
    };
    request.onerror = function () {
      if (progress) { progress.textContent = ""; }
      report({ error: "The upload failed: the server could not be reached." });
    };
    zone.classList.remove("dragging");
    request.send(form);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("vigil-file-input")) { return; }
    var zone = zoneOf(input);
    if (zone && input.files && input.files.length) {
      send(zone, input.files[0]);
      input.value = "";
    }
  });

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event.target);
      if (!zone) { return; }
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });

  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event.target);
    if (zone) { zone.classList.remove("dragging"); }
  });

  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event.target);
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      send(zone, event.dataTransfer.files[0]);
    }
  });
})();
