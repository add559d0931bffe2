// InsureFlow: a little progressive behaviour; every page works without it.
(function () {
  "use strict";

  // Filters apply as soon as a choice changes.
  document.querySelectorAll("form.auto-submit select").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    });
  });

  // One click, one submission: buttons are disabled once the browser has taken the form.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.disabled = true;
        });
      }, 0);
    });
  });

  // The first field with a message gets the focus, so the user starts where the problem is.
  var firstInvalid = document.querySelector(".task-form .is-invalid");
  if (firstInvalid) {
    firstInvalid.focus();
  }
})();
