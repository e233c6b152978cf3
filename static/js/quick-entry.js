// Quick entry and concern forms: pick pupils from search results (each with their own part), and show at
// once that a submit is on its way. The form itself is a plain POST: it works without this script too.
(function () {
  "use strict";
  var form = document.getElementById("quick-entry") || document.getElementById("concern-form");
  if (!form) return;
  var chosen = document.getElementById("chosen");
  var template = document.getElementById("chosen-template");
  var single = !!form.querySelector('[data-single="true"]');
  var search = document.getElementById("pick-q");

  function has(id) { return !!chosen.querySelector('li[data-pupil-id="' + id + '"]'); }

  function add(button) {
    var id = button.dataset.pupilId;
    if (has(id)) return;
    if (single) chosen.innerHTML = "";
    var li = template.content.firstElementChild.cloneNode(true);
    li.dataset.pupilId = id;
    li.querySelector('input[name="pupil_id"]').value = id;
    li.querySelectorAll(".name").forEach(function (el) { el.textContent = button.dataset.name; });
    var meta = li.querySelector(".meta");
    if (meta) meta.textContent = button.dataset.meta || "";
    var role = li.querySelector("select.role");
    if (role) {
      role.id = "role-" + id;
      var label = li.querySelector('label[for="role-"]');
      if (label) label.htmlFor = role.id;
      // Each pupil starts as "instigator" for the first, "involved" after: never copied from another pupil.
      role.value = chosen.children.length === 0 ? "instigator" : "involved";
    }
    var remove = li.querySelector(".remove-pick");
    if (remove) remove.setAttribute("aria-label", "Remove " + button.dataset.name);
    chosen.appendChild(li);
    var area = document.getElementById("pick-area");
    if (area) area.innerHTML = "";  // the next pupil starts from an empty list
    if (search) { search.value = ""; search.focus(); }
  }

  form.addEventListener("click", function (event) {
    var pick = event.target.closest("button.pick");
    if (pick) { event.preventDefault(); add(pick); return; }
    var remove = event.target.closest(".remove-pick");
    if (remove) { event.preventDefault(); remove.closest("li").remove(); }
  });

  // Enter in the search box picks the first result instead of submitting the whole form.
  if (search) search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var first = form.querySelector("#pick-area button.pick");
    if (first) add(first);
  });

  form.addEventListener("submit", function (event) {
    if (form.dataset.sending === "yes") { event.preventDefault(); return; }  // a double tap sends once
    form.dataset.sending = "yes";
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "Saving…"; }
  });
})();
