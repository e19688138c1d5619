// RepostWatch review app: keyboard shortcuts, unblurring, the queue's count of new flags, the
// crawls page's running figures.
// The pages work without it.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Unblur: a POST (logged in the audit log); the server then serves the media itself instead
  // of its blurred rendition, so the image is fetched again (at another URL: no cached copy).
  function setUpUnblur() {
    var form = document.getElementById("unblur-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      }).then(function (response) {
        if (!response.ok) throw new Error("unblur refused: " + response.status);
        var evidence = document.getElementById("evidence");
        var image = evidence.querySelector("img");
        if (image) {
          image.src = image.getAttribute("data-unblurred-src");
          image.alt = image.alt.replace(" (blurred)", "");
        }
        evidence.classList.remove("blurred");
        form.remove();
      }).catch(function () { form.submit(); });
    });
  }

  // Shortcuts on the flag page: c confirm, r reject, s skip, n next.
  function setUpKeys() {
    var page = document.querySelector(".flagpage");
    if (!page) return;
    var busy = false;
    document.addEventListener("keydown", function (event) {
      if (busy || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      var element = page.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
      if (!element) return;
      event.preventDefault();
      busy = true;
      if (element.tagName === "FORM") element.submit();
      else window.location.assign(element.getAttribute("href"));
    });
  }

  // Forms that take seconds (drafting with screenshots, sending): say so while they run.
  function setUpBusyForms() {
    document.querySelectorAll("form.busy").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (!button) return;
        window.setTimeout(function () { button.disabled = true; }, 0);
        button.textContent = form.getAttribute("data-busy") || "Working…";
      });
    });
  }

  // The queue: every data-every seconds (and when the window gets the focus back), ask how many
  // flags came in since the page was made; the reload link then says so. Stops once logged out.
  function setUpNewFlags() {
    var box = document.getElementById("new-flags");
    if (!box) return;
    var link = box.querySelector("a");
    var every = (parseInt(box.getAttribute("data-every"), 10) || 20) * 1000;
    var title = document.title;
    var timer = null;
    var stopped = false;
    var busy = false;
    function check() {
      if (stopped || busy) return;
      busy = true;
      window.clearTimeout(timer);
      askJson(box.getAttribute("data-url"), function () { stopped = true; }).then(function (found) {
        if (found && found.count > 0) {
          link.textContent = found.message;
          box.classList.add("has-new");
          document.title = "(" + found.count + ") " + title;
        }
      }).catch(function () { /* the server is away: ask again later */ }).then(function () {
        busy = false;
        if (!stopped) timer = window.setTimeout(check, every);
      });
    }
    timer = window.setTimeout(check, every);
    window.addEventListener("focus", check);
  }

  // A page's JSON from this app (null when it answers with an error); ``refused`` is called when
  // the session is gone (401/403): a poller then stops asking.
  function askJson(url, refused) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) refused();
      return response.ok ? response.json() : null;
    });
  }

  // The crawls page: while a run it shows is running, ask every data-every seconds (and when the
  // window gets the focus back) for those runs' state and figures, and show them; stops once
  // none is running, or once logged out.
  function setUpLiveRuns() {
    var table = document.getElementById("crawls");
    if (!table || !table.getAttribute("data-live-url")) return;
    var every = (parseInt(table.getAttribute("data-every"), 10) || 5) * 1000;
    var timer = null;
    var busy = false;
    function live() { return table.querySelectorAll("td[data-live-run]"); }
    function check() {
      var cells = live();
      if (busy || !cells.length) return;
      busy = true;
      window.clearTimeout(timer);
      var query = Array.prototype.map.call(cells, function (cell) {
        return "run=" + encodeURIComponent(cell.getAttribute("data-live-run"));
      }).join("&");
      var stopped = false;
      askJson(table.getAttribute("data-live-url") + "?" + query, function () {
        stopped = true;
      }).then(function (found) {
        if (!found) return;
        found.runs.forEach(function (run) {
          var cell = table.querySelector('td[data-live-run="' + run.id + '"]');
          if (!cell) return;
          cell.querySelector(".run-status").textContent = run.status;
          cell.querySelector(".run-figures").textContent = run.figures;
          if (!run.running) {
            cell.removeAttribute("data-live-run");
            var badge = cell.parentNode.querySelector(".status-running");
            if (badge) { badge.textContent = run.status; badge.className = "status"; }
          }
        });
      }).catch(function () { /* the server is away: ask again later */ }).then(function () {
        busy = false;
        if (!stopped && live().length) timer = window.setTimeout(check, every);
      });
    }
    if (live().length) timer = window.setTimeout(check, every);
    window.addEventListener("focus", check);
  }

  // Reference uploads over the installation's cap are refused before a byte is sent (the
  // server refuses them too, but a browser may show a dropped connection instead of its page).
  function setUpUploadLimit() {
    document.querySelectorAll("form[data-max-bytes]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var input = form.querySelector("input[type=file]");
        var file = input && input.files && input.files[0];
        if (!file || file.size <= Number(form.getAttribute("data-max-bytes"))) return;
        event.preventDefault();
        event.stopImmediatePropagation(); // the busy-form handler must not disable the button
        var note = form.querySelector(".upload-refused");
        if (!note) {
          note = document.createElement("p");
          note.className = "flash flash-error upload-refused";
          note.setAttribute("role", "alert");
          form.appendChild(note);
        }
        note.textContent = form.getAttribute("data-too-large");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpNewFlags();
    setUpLiveRuns();
    setUpUnblur();
    setUpKeys();
    setUpUploadLimit(); // before the busy forms: it may stop their submit handler
    setUpBusyForms();
  });
})();
