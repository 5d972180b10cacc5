/* Filters on the sites page: without this script the form submits and the page reloads;
   with it, the list, the map and the address follow each change without a reload. */
(function () {
  "use strict";
  var form = document.getElementById("site-filters");
  var list = document.getElementById("site-list");
  if (!form || !list || !window.fetch || !window.URLSearchParams) { return; }
  var timer = null;
  var pending = null;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "" && !(key === "area_unit" && value === "mu")) { params.append(key, value); }
    });
    return params;
  }

  function apply() {
    var params = query();
    var qs = params.toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
    document.dispatchEvent(new CustomEvent("portal:filters", {detail: qs}));
    if (pending) { pending.abort(); }
    pending = new AbortController();
    params.set("partial", "list");
    list.setAttribute("aria-busy", "true");
    fetch(location.pathname + "?" + params.toString(), {signal: pending.signal})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) { list.innerHTML = html; })
      .catch(function (e) { if (e.name !== "AbortError") { form.submit(); } })
      .finally(function () { list.removeAttribute("aria-busy"); });
  }

  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  form.addEventListener("input", function (e) {
    if (e.target.tagName === "INPUT" && e.target.type === "text") {
      clearTimeout(timer); timer = setTimeout(apply, 500);
    }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); apply(); });
})();
