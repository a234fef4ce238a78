// Refreshes a progress fragment while a job runs (the data-poll URL asks for the
// fragment alone). Without JavaScript the page offers a plain Refresh link instead.
(function () {
  function poll() {
    var box = document.querySelector("[data-poll]");
    if (!box) return;
    fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        box.outerHTML = html;
        setTimeout(poll, 2000);
      });
  }
  setTimeout(poll, 2000);
})();
