/* The contents drawers on narrow screens behave as WAI-ARIA's modal dialog pattern says: Escape closes the open
 * drawer and gives focus back to the button that opened it, and Tab and Shift+Tab stay inside it while it is open.
 * After a search, focus goes to the results' heading instead of falling to <body>.
 * (Added to every page by jupyter-book, like every .js file in _static.) */
(function () {
  "use strict";
  var drawers = [
    ["pst-primary-sidebar-checkbox", ".bd-sidebar-primary", ".primary-toggle"],
    ["pst-secondary-sidebar-checkbox", ".bd-sidebar-secondary", ".secondary-toggle"],
  ];

  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])"),
      function (el) { return !el.disabled && el.getClientRects().length > 0; });
  }

  function openDrawer() {
    for (var i = 0; i < drawers.length; i++) {
      var box = document.getElementById(drawers[i][0]);
      var panel = document.querySelector(drawers[i][1]);
      if (box && box.checked && panel && getComputedStyle(panel).position === "fixed") {
        return {box: box, panel: panel, opener: document.querySelector(drawers[i][2])};
      }
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    var drawer = openDrawer();
    if (!drawer) return;
    if (event.key === "Escape") {
      event.preventDefault();
      drawer.box.checked = false;
      if (drawer.opener) drawer.opener.focus();
    } else if (event.key === "Tab") {
      var items = focusables(drawer.panel);
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      var inside = drawer.panel.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }
  }, true);

  // A click on the overlay closes the drawer: focus back to its button as well.
  document.querySelectorAll("label.overlay").forEach(function (overlay) {
    overlay.addEventListener("click", function () {
      var opener = document.querySelector(overlay.classList.contains("overlay-primary") ? ".primary-toggle" : ".secondary-toggle");
      if (opener) setTimeout(function () { opener.focus(); }, 0);
    });
  });

  // The copy buttons of the code cells (sphinx-copybutton, drawn once the page has loaded) stay out of the Tab
  // order: a chapter has dozens, one per cell, between the reader and the next concept check or player. The whole
  // notebook, every cell of it, is one Tab stop away in the toolbar's download button.
  function quietCopyButtons() {
    document.querySelectorAll("button.copybtn").forEach(function (b) { b.tabIndex = -1; });
  }
  // A display formula or a pandas table wider than the column scrolls in its own box: that box must be reachable
  // by keyboard (a Tab stop only while it is too wide).
  function focusableWideMath() {
    var boxes = document.querySelectorAll("mjx-container, .bd-content .output.text_html > div, " +
                                          ".bd-content .pst-scrollable-table-container");
    Array.prototype.forEach.call(boxes, function (m) {
      if (m.tagName === "DIV" && !m.querySelector(":scope > table")) return;
      if (m.tagName !== "DIV" && getComputedStyle(m).overflowX !== "auto") return;
      var wide = m.scrollWidth > m.clientWidth + 1;
      if (wide && !m.hasAttribute("tabindex")) {
        m.setAttribute("tabindex", "0");
        m.setAttribute("role", "group");
        m.setAttribute("aria-label", m.tagName === "DIV" ? "table, scrolls sideways" : "formula, scrolls sideways");
        m.dataset.readerScroll = "";
      } else if (!wide && m.dataset.readerScroll !== undefined) {
        m.removeAttribute("tabindex");
        m.removeAttribute("role");
        m.removeAttribute("aria-label");
        delete m.dataset.readerScroll;
      }
    });
  }
  function afterMath() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(focusableWideMath);
    } else if (document.querySelector(".math") && !(window.MathJax && MathJax.version)) {
      setTimeout(afterMath, 100);
    }
  }
  window.addEventListener("DOMContentLoaded", function () {
    setTimeout(quietCopyButtons, 0);
    focusableWideMath();
    afterMath();
  });
  window.addEventListener("load", function () { quietCopyButtons(); afterMath(); });
  window.addEventListener("resize", focusableWideMath);

  // The search page: focus the results once Sphinx has written them.
  var results = document.getElementById("search-results");
  if (results) {
    var observer = new MutationObserver(function () {
      var heading = results.querySelector("h2") || results;
      if (results.querySelector(".search-summary") && document.activeElement === document.body) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
        observer.disconnect();
      }
    });
    observer.observe(results, {childList: true, subtree: true});
  }
})();
