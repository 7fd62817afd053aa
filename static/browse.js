// Datastore Studio, the browse page: ticking files for "Download selected" and "Delete selected".
(function () {
  "use strict";
  const form = document.querySelector("[data-selection]");
  if (!form) return;
  const count = form.querySelector(".selection-count");

  function ticked() {
    return [...document.querySelectorAll("input[data-select]:checked")];
  }

  function refresh() {
    const chosen = ticked().length;
    count.textContent = chosen ? `${chosen} file${chosen === 1 ? "" : "s"} selected` : "No file selected";
    form.querySelectorAll("[data-needs-selection]").forEach((button) => { button.disabled = chosen === 0; });
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[data-select]")) refresh();
  });
  // A listing swapped in (a filter, Load more, a refresh after an upload) may add or drop ticked rows.
  document.body.addEventListener("htmx:afterSettle", refresh);
  form.addEventListener("submit", (event) => {
    const question = event.submitter && event.submitter.dataset.confirmSelection;
    if (question && !window.confirm(question.replace("the selected files", `${ticked().length} selected file(s)`))) {
      event.preventDefault();
    }
  });
  refresh();
})();
