/* Streams a chosen or dropped file to /api/v1/datasets (no base64 round trip through Dash),
   shows progress, and hands the server's answer to the app-upload-result store. */
(function () {
  "use strict";
  function zoneOf(element) {
    return element && element.closest ? element.closest(".vigil-drop-zone") : null;
  }

  function size(bytes) {
    return bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : (bytes / 1e3).toFixed(1) + " KB";
  }

  function report(zone, answer) {
    answer.at = Date.now();
    var store = zone.getAttribute("data-result-store");
    if (store && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(store, { data: answer });
    }
  }

  function send(zone, file) {
    var limit = parseInt(zone.getAttribute("data-max-bytes"), 10);
    var progress = zone.querySelector(".vigil-upload-progress");
    if (limit && file.size > limit) {
      report(zone, {
        error: "'" + file.name + "' is " + size(file.size) + ", over the " + size(limit) +
          " upload limit.",
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
      report(zone, answer);
    };
    request.onerror = function () {
      if (progress) { progress.textContent = ""; }
      report(zone, { error: "The upload failed: the server could not be reached." });
    };
    zone.classList.remove("dragging");
    request.send(form);
  }

  // One file input outside React's tree: the "choose a file" link opens it, and the zone
  // shown on the page receives what was chosen.
  var picker = document.createElement("input");
  picker.type = "file";
  picker.accept = ".csv,.gz,.parquet,.tsv,.txt";
  picker.className = "vigil-file-input";
  picker.addEventListener("change", function () {
    var zone = document.querySelector(".vigil-drop-zone");
    if (zone && picker.files && picker.files.length) {
      send(zone, picker.files[0]);
    }
    picker.value = "";
  });
  function attachPicker() { document.body.appendChild(picker); }
  if (document.body) { attachPicker(); } else { document.addEventListener("DOMContentLoaded", attachPicker); }

  function openPicker(event) {
    if (event.target.closest && event.target.closest(".vigil-file-label")) {
      if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") { return; }
      event.preventDefault();
      picker.click();
    }
  }
  document.addEventListener("click", openPicker);
  document.addEventListener("keydown", openPicker);

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
