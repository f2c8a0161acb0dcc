/* Tollbook's small page behaviours, without inline event handlers (the Content-Security-Policy
   forbids them; docs/security.md):
   <select data-autosubmit> sends its form when the choice changes;
   <form data-confirm="…"> asks before it is sent. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
