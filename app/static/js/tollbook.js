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

/* Keyboard (issue 9 item 10): a clerk fills a form without the mouse.
   - select2 opened from the keyboard: the search box gets the focus, so what is typed reaches it
     (select2 4.0 with jQuery 3.6+ leaves the focus on the closed box: typed text went nowhere);
     a letter typed on the closed box opens it with that letter in the search.
   - the form's first field has the focus when the form opens;
   - Enter in a date field submits the form (the date picker kept the key). */
(function ($) {
  "use strict";
  if (!$) { return; }
  $(document).on("select2:open", function () {
    window.setTimeout(function () {
      var search = document.querySelector(".select2-container--open .select2-search__field");
      if (search) { search.focus(); }
    }, 0);
  });
  $(document).on("keydown", ".select2-selection--single", function (event) {
    var printable = event.key && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
    if (!printable || event.key === " ") { return; }
    var select = $(this).closest(".select2-container").prev("select");
    if (!select.length) { return; }
    event.preventDefault();
    select.select2("open");  // builds the dropdown now: the letter goes in before the next key arrives
    var search = document.querySelector(".select2-container--open .select2-search__field");
    if (search) {
      search.focus();
      search.value += event.key;
      search.dispatchEvent(new Event("input", {bubbles: true}));
    }
  });
  $(document).on("keydown", ".appbuilder_date input", function (event) {
    if (event.key === "Enter" && this.form) {
      event.preventDefault();
      $(this).datepicker && $(this).datepicker("hide");
      if (this.form.requestSubmit) { this.form.requestSubmit(); } else { this.form.submit(); }
    }
  });
  function focusFirstField() {
    var form = document.getElementById("model_form");
    if (!form) { return; }
    var first = form.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    if (!first) { return; }
    var select2 = first.tagName === "SELECT" && $(first).data("select2");
    if (select2 && select2.$container) {
      select2.$container.find(".select2-selection").trigger("focus");
    } else {
      first.focus();
    }
  }
  // after ab.js has turned the selects into select2 boxes (its own ready handler)
  $(window).on("load", function () { window.setTimeout(focusFirstField, 0); });
})(window.jQuery);
