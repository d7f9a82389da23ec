// dsfleet dashboard: every element with data-live="URL" is fetched again each second and replaced,
// so a rollout's grid moves without a reload; a log (<pre data-stream="URL">) grows as the server
// sends its lines (server-sent events; the browser reconnects where it left off). Pages read fine
// without this script.
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

  function follow(pre) {
    var source = new EventSource(pre.dataset.stream), fresh = true;
    function add(text) {
      var atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
      pre.append(text + "\n");
      while (pre.childNodes.length > 5000) { pre.removeChild(pre.firstChild); }
      if (atEnd) { window.scrollTo(0, document.body.scrollHeight); }
    }
    source.onmessage = function (e) {
      if (fresh) { pre.textContent = ""; fresh = false; } // the stream starts with the lines the page showed
      add(e.data);
    };
    source.addEventListener("reset", function (e) { pre.textContent = ""; fresh = false; add("-- " + e.data); });
    source.addEventListener("end", function (e) { add("-- " + e.data); source.close(); });
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) { add("-- the stream stopped: reload the page"); } };
  }
  document.querySelectorAll("pre[data-stream]").forEach(follow);
})();
