// The dashboard's live parts, no build step. An element with data-poll="URL" has its inner
// HTML replaced by that URL's fragment every 2 s; one with data-events="URL" reloads its
// data-refresh fragment whenever the intent's SSE stream (the same session cookie) says
// something happened. A fragment answered by a redirect means the session ended: reload.
(function () {
  async function refresh(el, url) {
    try {
      const r = await fetch(url, { credentials: "same-origin" });
      if (r.redirected || r.status === 401) { location.reload(); return; }
      if (r.ok) { el.innerHTML = await r.text(); }
    } catch (e) { /* the next tick tries again */ }
  }
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    const url = el.getAttribute("data-poll");
    setInterval(function () { refresh(el, url); }, 2000);
  });
  document.querySelectorAll("[data-events]").forEach(function (el) {
    const url = el.getAttribute("data-events");
    const target = document.getElementById(el.getAttribute("data-target"));
    const names = (el.getAttribute("data-names") || "").split(" ");
    let since = 0;
    function open() {
      const es = new EventSource(url + "?since=" + since + "&wait_seconds=60");
      const on = function (ev) {
        since = Math.max(since, parseInt(ev.lastEventId || "0", 10));
        refresh(target, el.getAttribute("data-refresh"));
      };
      names.forEach(function (n) { if (n) { es.addEventListener(n, on); } });
      // A timeout or a terminal event closes the stream: open it again after the cursor.
      es.addEventListener("stream.timeout", function () { es.close(); setTimeout(open, 500); });
      es.onerror = function () { es.close(); setTimeout(open, 2000); };
    }
    open();
  });
})();
