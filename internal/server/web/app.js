// golive web UI: live updates only. Every page reads without this script
// (a reload shows the current state); with it, a page that follows
// something (its body's data-live: an SSE stream of the API) fetches
// itself again after each burst of events and swaps in its live regions
// (data-region). A region the reader is working in (focus, typed text,
// an open <details>) is left alone until they are done.
(function () {
  "use strict";
  var body = document.body;
  var live = body && body.getAttribute("data-live");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  // delay grows with how long a refresh takes (a page of 500 hosts is
  // large): the page never asks more than every other moment.
  var timer = null, busy = false, again = false, delay = 250;

  function inUse(el) {
    var a = document.activeElement;
    if (a && a !== body && el.contains(a)) {
      return true;
    }
    if (el.querySelector("details[open]")) {
      return true;
    }
    var fields = el.querySelectorAll("input:not([type=hidden]), textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "checkbox" ? f.checked !== f.defaultChecked : f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var regions = document.querySelectorAll("[data-region]");
    for (var i = 0; i < regions.length; i++) {
      var el = regions[i];
      var name = el.getAttribute("data-region");
      var fresh = doc.querySelector('[data-region="' + name + '"]');
      if (fresh && !inUse(el) && fresh.innerHTML !== el.innerHTML) {
        el.replaceWith(document.importNode(fresh, true));
      }
    }
    if (doc.body && !doc.body.getAttribute("data-live")) {
      stop(); // the run is over: nothing more to follow
    }
    var title = doc.querySelector("title");
    if (title) {
      document.title = title.textContent;
    }
  }

  function refresh() {
    timer = null;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    var began = Date.now();
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { swap(html); } })
      .catch(function () {})
      .then(function () {
        busy = false;
        delay = Math.min(5000, Math.max(250, 2 * (Date.now() - began)));
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    if (!timer) {
      timer = setTimeout(refresh, delay);
    }
  }

  var es = new EventSource(live);
  var note = document.getElementById("live-note");
  function stop() {
    es.close();
    if (note) { note.hidden = true; }
  }
  es.onopen = function () { if (note) { note.hidden = false; } };
  es.addEventListener("journal", schedule);
  es.addEventListener("run", schedule);
  es.addEventListener("end", function () {
    stop();
    schedule();
  });
})();
