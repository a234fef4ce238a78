/*
 * Draft autosave for entry forms. A form with data-draft-key="…" is saved to this
 * browser's localStorage as the user types, restored when the page is opened again
 * (after a timeout, a closed tab or a sign-in), and cleared once the server says the
 * entry was recorded (a page with [data-draft-saved]). The form works without this
 * script: it only adds safety.
 */
(function () {
  "use strict";
  var PREFIX = "chronology-draft:";
  var PENDING = "chronology-draft-pending";
  var storage;
  try { storage = window.localStorage; storage.getItem("x"); } catch (e) { return; }

  // A recorded entry: forget the draft that was submitted.
  var pending = null;
  try { pending = window.sessionStorage.getItem(PENDING); } catch (e) { /* ignore */ }
  if (pending && document.querySelector("[data-draft-saved]")) {
    storage.removeItem(PREFIX + pending);
    window.sessionStorage.removeItem(PENDING);
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.type !== "submit" && el.type !== "hidden";
    });
  }

  function read(form) {
    var data = {};
    fieldsOf(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (!data[el.name]) { data[el.name] = []; }
        if (el.checked) { data[el.name].push(el.value); }
      } else {
        data[el.name] = el.value;
      }
    });
    return data;
  }

  function write(form, data) {
    fieldsOf(form).forEach(function (el) {
      if (!(el.name in data)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = data[el.name].indexOf(el.value) !== -1;
      } else {
        el.value = data[el.name];
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-draft-key]"), function (form) {
    var key = PREFIX + form.getAttribute("data-draft-key");
    var status = form.querySelector("[data-draft-status]");
    var saved = storage.getItem(key);
    // A form the server sent back with errors already holds what was typed.
    if (saved && !form.hasAttribute("data-draft-bound")) {
      try {
        var draft = JSON.parse(saved);
        write(form, draft.fields);
        if (status) { status.textContent = "Your unsaved draft from " + draft.savedAt + " has been restored."; }
      } catch (e) { storage.removeItem(key); }
    }
    var timer = null;
    function save() {
      var now = new Date();
      storage.setItem(key, JSON.stringify({
        savedAt: now.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit"}),
        fields: read(form)
      }));
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 300); });
    form.addEventListener("change", save);
    form.addEventListener("submit", function () {
      save();
      try { window.sessionStorage.setItem(PENDING, form.getAttribute("data-draft-key")); } catch (e) { /* ignore */ }
    });
  });
}());
