// The pages' small behaviours, without inline scripts or on…= handlers (the
// Content-Security-Policy allows scripts from this site only, see huzhu.lib.middleware):
//   data-confirm="问题？"        on a button or link: asks first, does nothing on 取消;
//   data-autosubmit            on a select: submits its form when changed;
//   data-check-all="SELECTOR"  on a checkbox: ticks or clears every box SELECTOR finds;
//   data-remove-after-request  on an htmx element: removes itself once its request is done.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
    if (el.matches && el.matches("input[type=checkbox][data-check-all]")) {
      document.querySelectorAll(el.getAttribute("data-check-all")).forEach(function (box) {
        box.checked = el.checked;
      });
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (el && el.hasAttribute && el.hasAttribute("data-remove-after-request")) {
      el.remove();
    }
  });
})();
