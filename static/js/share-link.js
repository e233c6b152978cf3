// Enrolment links on an admin's screen: Copy puts one on the clipboard; Share hands it to the phone's share sheet
// (Web Share), and is shown only where the browser has it. A link is a secret that signs someone in: it is never
// logged, stored or sent anywhere by this script.
(function () {
  "use strict";
  var canShare = typeof navigator.share === "function";

  function status(input, text) {
    var el = document.getElementById(input.id + "-status");
    if (el) el.textContent = text;
  }

  function copyByHand(input) {
    // No Clipboard API (an insecure origin, an old browser, permission refused): the old way, else select it.
    input.focus();
    input.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (err) { copied = false; }
    status(input, copied ? "Copied" : "Selected: copy it with your device's Copy");
  }

  function copy(input) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(function () { status(input, "Copied"); },
        function () { copyByHand(input); });
    } else {
      copyByHand(input);
    }
  }

  function share(input, button) {
    var name = button.getAttribute("data-share-name") || "";
    navigator.share({
      title: "Corridor",
      text: (name ? name + ", your" : "Your") + " link to set up Corridor on your phone. It works once.",
      url: input.value
    }).then(function () { status(input, "Shared"); }, function (err) {
      if (!err || err.name !== "AbortError") status(input, "Not shared: use Copy instead");
    });
  }

  document.querySelectorAll("[data-share-link]").forEach(function (button) { button.hidden = !canShare; });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-link], [data-share-link]") : null;
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy-link") || button.getAttribute("data-share-link"));
    if (!input) return;
    if (button.hasAttribute("data-copy-link")) copy(input);
    else if (canShare) share(input, button);
  });
})();
