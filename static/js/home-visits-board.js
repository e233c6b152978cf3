// The leads' board of today's home visits: a Server-Sent Events stream sends a visit's card (the same partial the
// page was rendered with) whenever it changes. EventSource resumes with Last-Event-ID.
(function () {
  "use strict";
  var board = document.getElementById("visits-board");
  if (!board || !window.EventSource) return;
  var empty = document.getElementById("board-empty");
  var lastId = null;
  var source = null;

  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;  // server-rendered and escaped by the template engine
    return box.firstElementChild;
  }

  function sortBoard() {
    var items = Array.prototype.slice.call(board.querySelectorAll(".visit-card"));
    items.sort(function (a, b) { return a.dataset.due - b.dataset.due; });
    items.forEach(function (item) { board.appendChild(item); });
    empty.hidden = items.length > 0;
  }

  function onVisit(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    var card = parse(event.data);
    if (!card) return;
    var old = document.getElementById(card.id);
    if (card.dataset.onBoard !== "yes") {
      if (old) old.remove();
    } else if (old) {
      old.replaceWith(card);
    } else {
      board.appendChild(card);
    }
    sortBoard();
  }

  function streamUrl() {
    var url = board.dataset.stream;
    return lastId ? url.replace(/([?&]after=)\d+/, "$1" + lastId) : url;
  }
  function connect() {
    source = new EventSource(streamUrl());
    source.addEventListener("visit", onVisit);
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
  connect();
}());
