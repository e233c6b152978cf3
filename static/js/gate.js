// Lates at the gate: each tap carries the moment it was made (the outbox may send it minutes later), and where
// the browser offers BarcodeDetector the camera reads the pupil card (its UPN or MIS id) into the search box.
// Without this script the page still works: typing finds the pupil, and the server takes the time of arrival.
(function () {
  "use strict";

  function londonNow() {
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date());
    function get(type) { var p = parts.find(function (x) { return x.type === type; }); return p ? p.value : ""; }
    return get("year") + "-" + get("month") + "-" + get("day") + "T" + get("hour") + ":" + get("minute");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("gate-late")) return;
    var at = form.querySelector("input.arrived-at");
    if (at && !at.value) at.value = londonNow();
    var button = form.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-disabled", "true");
  }, true);

  var scan = document.getElementById("gate-scan");
  var video = document.getElementById("gate-camera");
  var status = document.getElementById("gate-scan-status");
  var box = document.getElementById("gate-q");
  if (!scan || !video || !box || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  scan.hidden = false;
  var stream = null;

  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
    scan.textContent = "Scan card";
  }

  scan.addEventListener("click", function () {
    if (stream) { stop(); status.textContent = ""; return; }
    var detector;
    try { detector = new window.BarcodeDetector(); } catch (err) { status.textContent = "This phone cannot read cards: type the name."; return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      scan.textContent = "Stop scanning";
      status.textContent = "Hold the card's barcode to the camera.";
      return video.play().then(function () {
        function look() {
          if (!stream) return;
          detector.detect(video).then(function (codes) {
            var value = codes.length ? String(codes[0].rawValue || "").trim() : "";
            if (!value) { setTimeout(look, 250); return; }
            stop();
            status.textContent = "Card read.";
            box.value = value.slice(0, 100);
            box.dispatchEvent(new Event("input", { bubbles: true }));
          }, function () { setTimeout(look, 500); });
        }
        look();
      });
    }).catch(function () {
      stop();
      status.textContent = "The camera is not available: type the name instead.";
    });
  });
})();
