// Datastore Studio, on every page: copy buttons, confirmations before destructive forms,
// the menu button on narrow screens, focus on an error summary, Ctrl+Enter in the query box.
(function () {
  "use strict";
  // Copy a file's path within the datastore; confirm before deleting.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    await navigator.clipboard.writeText(button.dataset.copy);
    const before = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = before; }, 1500);
  });
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // The side menu becomes a panel behind a button on narrow screens.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-menu-toggle]");
    if (!toggle) return;
    const menu = document.getElementById(toggle.getAttribute("aria-controls"));
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
    if (open) menu.querySelector("a")?.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const toggle = document.querySelector("[data-menu-toggle][aria-expanded='true']");
    if (!toggle) return;
    toggle.click();
    toggle.focus();
  });

  // Ctrl+Enter (or Cmd+Enter) in a textarea runs its form's first button, as the query box's hint says.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const area = event.target.closest("textarea[data-submit-shortcut]");
    if (!area) return;
    event.preventDefault();
    area.form.querySelector("button[type=submit]")?.click();
  });

  // A part that loaded into place (or whose error answer did) is no longer busy.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target && target.isConnected) target.removeAttribute("aria-busy");
  });

  // An error summary (a failed submit) takes the focus, so it is read out and scrolled to.
  function focusSummary() {
    const summary = document.querySelector("[data-focus-on-load]");
    if (summary) summary.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusSummary);
  else focusSummary();
})();
