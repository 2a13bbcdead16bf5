// Behaviour every page shares, without inline script (the CSP allows scripts from 'self' only):
// - <form data-confirm="…">: ask before submitting (irreversible actions);
// - <select data-autosubmit>: submit the form when the choice changes (the language switch).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.dataset && field.dataset.autosubmit !== undefined && field.form) {
    field.form.submit();
  }
});
