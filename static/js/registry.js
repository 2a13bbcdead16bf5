// Behaviour every page shares, without inline script (the CSP allows scripts from 'self' only):
// - <form data-confirm="…">: ask before submitting (irreversible actions);
// - a POST form, once submitted, disables its buttons and says it is working, so a slow
//   action cannot be started twice by a second click;
// - <select data-autosubmit>: submit the form when the choice changes (the language switch);
// - [data-menu-toggle]: opens and closes the main menu on a phone.
document.documentElement.classList.add("js");

document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);

document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") {
    return;
  }
  // After the browser has read the form (the clicked button's name and value included).
  window.setTimeout(function () {
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (button) {
      button.disabled = true;
    });
    // A download answers without leaving the page: give the buttons back after a while.
    window.setTimeout(release.bind(null, form), 8000);
  }, 0);
});

function release(form) {
  form.removeAttribute("aria-busy");
  form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
    button.disabled = false;
  });
}

// Back to a page from the browser's cache: its forms are usable again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[aria-busy]").forEach(release);
});

document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.dataset && field.dataset.autosubmit !== undefined && field.form) {
    field.form.submit();
  }
});

document.addEventListener("click", function (event) {
  var toggle = event.target.closest ? event.target.closest("[data-menu-toggle]") : null;
  if (!toggle) {
    return;
  }
  var bar = toggle.closest(".topbar");
  var open = bar.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
