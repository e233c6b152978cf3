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
    var own = li.querySelector("select.pupil-category");
    if (own) {
      own.id = "pcat-" + id;
      var ownLabel = li.querySelector('label[for="pcat-"]');
      if (ownLabel) ownLabel.htmlFor = own.id;
      if (role) fitPart(role, own);
    }
    var remove = li.querySelector(".remove-pick");
    if (remove) remove.setAttribute("aria-label", "Remove " + button.dataset.name);
    chosen.appendChild(li);
    var area = document.getElementById("pick-area");
    if (area) area.innerHTML = "";  // the next pupil starts from an empty list
    // Close the phone's keyboard so the categories are in sight; the box is one tap away for another pupil.
    if (search) { search.value = ""; search.blur(); }
    var field = document.getElementById("category-field");
    if (field && !form.querySelector('input[name="category_id"]:checked') && field.scrollIntoView) {
      field.scrollIntoView({ block: "nearest" });
    }
    summarise();
  }

  // A target or witness gets their part's no-points category; the others get what happened (empty). The
  // person logging can still change it for any pupil before saving.
  function fitPart(role, own) {
    var option = own.querySelector('option[data-part="' + role.value + '"]');
    own.value = option ? option.value : "";
  }

  // The sticky bar says what "Log it" will save, so the person can check it without scrolling back up.
  var summary = document.getElementById("log-summary");
  function summarise() {
    if (!summary) return;
    var names = Array.prototype.map.call(chosen.querySelectorAll("li .chosen-name .name"), function (el) {
      return el.textContent.trim();
    }).filter(Boolean);
    var checked = form.querySelector('input[name="category_id"]:checked');
    var span = checked && checked.parentNode.querySelector("span");
    var what = span && span.firstChild ? span.firstChild.textContent.trim() : "";
    if (!names.length && !what) { summary.textContent = ""; return; }
    var who = names.length === 0 ? "choose a pupil" : names.length === 1 ? names[0] : names.length + " pupils";
    summary.textContent = (what || "choose what happened") + " · " + who;
  }
  form.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select.role")) {
      var own = event.target.closest("li").querySelector("select.pupil-category");
      if (own) fitPart(event.target, own);
    }
    summarise();
  });
  summarise();

  // Undo lasts 30 seconds after saving: the button goes when the server would refuse it.
  var undo = document.getElementById("undo-form");
  if (undo) {
    setTimeout(function () { undo.remove(); }, Math.max(0, parseInt(undo.dataset.seconds, 10) || 0) * 1000);
  }

  form.addEventListener("click", function (event) {
    var pick = event.target.closest("button.pick");
    if (pick) { event.preventDefault(); add(pick); return; }
    var remove = event.target.closest(".remove-pick");
    if (remove) { event.preventDefault(); remove.closest("li").remove(); summarise(); }
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
