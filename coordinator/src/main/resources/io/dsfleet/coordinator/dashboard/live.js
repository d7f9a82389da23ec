// dsfleet dashboard: every element with data-live="URL" is fetched again each second and replaced,
// so a rollout's grid moves without a reload. Pages read fine without this script.
"use strict";
(function () {
  function refresh(el) {
    fetch(el.dataset.live, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { el.innerHTML = html; } })
      .catch(function () {})
      .finally(function () { setTimeout(function () { refresh(el); }, 1000); });
  }
  document.querySelectorAll("[data-live]").forEach(function (el) { setTimeout(function () { refresh(el); }, 1000); });
})();
