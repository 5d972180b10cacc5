/* The reply form's template picker: choosing a template fills the reply text at once. Without
   JavaScript the picker's own button reloads the ticket page with ?template=ID, which fills it
   on the server. Wired here, not in attributes: the Content-Security-Policy forbids inline
   script. */
(function () {
  "use strict";
  document.querySelectorAll("select[data-fills]").forEach(function (select) {
    var target = document.getElementById(select.dataset.fills);
    if (!target) { return; }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      if (!option || !option.value) { return; }
      if (target.value.trim() && target.value !== option.dataset.body &&
          !window.confirm(select.dataset.confirm || "")) { return; }
      target.value = option.dataset.body || "";
      var visibility = document.querySelector("input[name='reply-visibility'][value='public']");
      if (visibility) { visibility.checked = true; }
      target.focus();
    });
  });
})();
