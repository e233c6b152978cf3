// On-call live updates: the board and the requester's page listen to a Server-Sent Events stream whose
// messages are the same card partial the page was rendered with. EventSource resumes with Last-Event-ID.
(function () {
  "use strict";
  var board = document.getElementById("oncall-board");
  var single = document.getElementById("oncall-live");
  var holder = board || single;
  if (!holder || !window.EventSource) return;

  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;  // server-rendered and escaped by the template engine
    return box.firstElementChild;
  }

  function sortBoard() {
    var items = Array.prototype.slice.call(board.querySelectorAll(".board-item"));
    items.sort(function (a, b) {
      return (a.dataset.rank - b.dataset.rank) || (b.dataset.raised - a.dataset.raised);
    });
    items.forEach(function (item) { board.insertBefore(item, document.getElementById("board-empty")); });
    document.getElementById("board-empty").hidden = items.length > 0;
  }

  function alertUser() {
    // Only once the person has tapped this page: before that the browser refuses, with an error in the console.
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) {
      navigator.vibrate([200, 100, 200]);
    }
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* sound needs a user gesture first in some browsers */ }
  }

  // EventSource retries by itself after a network error, but gives up for good on some failures (an HTTP
  // error while the phone changes networks): then start a new one from the last event seen.
  var source = null;
  var lastId = null;
  function streamUrl() {
    var url = holder.dataset.stream;
    return lastId ? url.replace(/([?&]after=)\d+/, "$1" + lastId) : url;
  }
  function connect() {
    source = new EventSource(streamUrl());
    source.addEventListener("request", onRequest);
    // The session ended (signed out everywhere, disabled, timed out) or this page is no longer for this
    // person: stop, and load the page again, which asks them to sign in.
    source.addEventListener("ended", function () {
      source.close();
      location.reload();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }
  window.addEventListener("online", function () {
    if (source && source.readyState === EventSource.CLOSED) connect();
  });

  function onRequest(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    var card = parse(event.data);
    if (!card) return;
    if (single) {
      var old = document.getElementById(card.id);
      if (old) old.replaceWith(card);
      var actions = document.getElementById("actions-" + card.id.replace("oncall-", ""));
      if (actions && card.dataset.open !== "yes") actions.hidden = true;  // resolved or cancelled: nothing to do
      return;
    }
    var id = card.id.replace("oncall-", "");
    var item = document.getElementById("item-" + id);
    if (card.dataset.open !== "yes") {
      if (item) item.remove();
      sortBoard();
      return;
    }
    var isNew = !item;
    if (isNew) {
      item = document.createElement("div");
      item.className = "board-item";
      item.id = "item-" + id;
      var open = document.createElement("p");
      var link = document.createElement("a");
      link.className = "button";
      link.href = "/oncall/" + id;
      link.textContent = "Open";
      open.appendChild(link);
      item.appendChild(card);
      item.appendChild(open);
      board.appendChild(item);
    } else {
      item.replaceChild(card, item.querySelector("article"));
    }
    item.dataset.rank = card.dataset.rank;
    item.dataset.raised = card.dataset.raised;
    sortBoard();
    if (isNew) alertUser();
  }
  connect();
  window.addEventListener("pagehide", function () { source.close(); });
})();
