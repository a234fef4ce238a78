// Refreshes a progress fragment while a job runs. Without JavaScript the page
// offers a plain Refresh link instead.
(function () {
  function poll() {
    var box = document.querySelector("[data-poll]");
    if (!box) return;
    fetch(box.getAttribute("data-poll"), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        box.outerHTML = html;
        setTimeout(poll, 2000);
      });
  }
  setTimeout(poll, 2000);
})();
