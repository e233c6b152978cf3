// The raise form: name a pupil (optional) with the same search as quick entry. Without this script the search
// stays hidden and the call goes without a pupil (or with the one from the profile, shown ticked).
(function () {
  "use strict";
  var form = document.getElementById("oncall-form");
  var find = document.getElementById("oncall-find");
  if (!form || !find) return;
  var chosen = document.getElementById("oncall-chosen");
  var template = document.getElementById("oncall-chosen-template");
  var search = document.getElementById("oncall-pick-q");
  var area = document.getElementById("oncall-pick-area");
  find.hidden = false;

  function choose(button) {
    var li = template.content.firstElementChild.cloneNode(true);
    var box = li.querySelector('input[name="pupil_id"]');
    li.dataset.pupilId = button.dataset.pupilId;
    box.value = button.dataset.pupilId;
    box.checked = true;
    li.querySelector(".name").textContent = button.dataset.name;
    li.querySelector(".meta").textContent = button.dataset.meta || "";
    // One pupil per call: a new choice replaces the one before.
    chosen.innerHTML = "";
    chosen.appendChild(li);
    area.innerHTML = "";
    search.value = "";
    // Focus on the ticked box closes the phone's keyboard, so the reasons are in sight, and says who was chosen.
    box.focus();
  }

  form.addEventListener("click", function (event) {
    var pick = event.target.closest("button.pick");
    if (pick) { event.preventDefault(); choose(pick); }
  });

  // Enter in the search box picks the first result. It must never send the call: the form's first submit
  // button is a reason.
  search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var first = area.querySelector("button.pick");
    if (first) choose(first);
  });
})();
