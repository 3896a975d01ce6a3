/* Concept checks (jupyterquiz) for every reader. Loaded, deferred, on pages with a check; it fetches jupyterquiz's
 * own library (_static/jupyterquiz-lib.js, written by _ext/reader_site.py from the installed package) once the
 * reader scrolls, types or points, or a check comes near the screen.
 *
 * Each check's questions sit in the page as JSON next to its container. This draws them with jupyterquiz, then:
 * - the answers become a radio group named by the question (role="radiogroup", aria-labelledby);
 * - the feedback is a polite live region, so a screen reader reads it after an answer;
 * - arrow keys move between the answers without answering (the browser's radio group would answer at once);
 *   Space or Enter answers;
 * - the radios stay the focusable controls (one Tab stop per check); their label shows the focus (reader.css).
 */
(function () {
  "use strict";

  function enhance(wrapper) {
    var question = wrapper.querySelector("[id^='quizQn']");
    var answers = wrapper.querySelector(".Answer");
    var feedback = wrapper.querySelector(".Feedback");
    if (!answers) return;
    answers.setAttribute("role", "radiogroup");
    if (question) {
      answers.setAttribute("aria-labelledby", question.id);
    }
    if (feedback) {
      feedback.setAttribute("role", "status");
      feedback.setAttribute("aria-live", "polite");
      feedback.setAttribute("aria-atomic", "true");
    }
    var radios = Array.prototype.slice.call(answers.querySelectorAll("input[type=radio]"));
    radios.forEach(function (radio) {
      var label = radio.closest("label");
      var text = label ? label.querySelector("span") : null;
      if (text) {
        if (!text.id) text.id = radio.id + "-text";
        radio.setAttribute("aria-labelledby", text.id);
      }
    });
    answers.addEventListener("keydown", function (event) {
      var index = radios.indexOf(document.activeElement);
      if (index < 0) return;
      var step = {ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1}[event.key];
      if (step) {
        event.preventDefault(); // move, do not answer
        var next = radios[(index + step + radios.length) % radios.length];
        radios.forEach(function (r) { r.tabIndex = r === next ? 0 : -1; });
        next.focus();
      } else if (event.key === "Enter" || (event.key === " " && radios[index].checked)) {
        event.preventDefault(); // answer the focused one (Space on a checked radio answers again)
        radios[index].click();
      }
    });
    answers.addEventListener("change", function (event) {
      radios.forEach(function (r) { r.tabIndex = r === event.target ? 0 : -1; });
    });
    radios.forEach(function (r, i) { r.tabIndex = i === 0 ? 0 : -1; });
  }

  function draw(container, questions) {
    if (!window.jupyterquiz) return;
    window.jupyterquiz.show_questions(questions, container);
    container.querySelectorAll(".Quiz").forEach(enhance);
    container.removeAttribute("data-jq-pending");
  }

  function drawAll() {
    document.querySelectorAll("script.jq-questions").forEach(function (data) {
      var container = document.getElementById(data.dataset.for);
      if (!container || container.querySelector(".Quiz")) return;
      draw(container, JSON.parse(data.textContent));
    });
  }

  // jupyterquiz's library (36 KiB) is fetched only once the reader does something (scrolls, types, points) or a
  // check comes near the screen: a reader who only opens the page does not pay for it.
  var library = document.currentScript && document.currentScript.dataset.library;
  var loading = null;
  function ready() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        if (window.jupyterquiz || !library) { resolve(); return; }
        var script = document.createElement("script");
        script.src = library;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      }).then(drawAll);
    }
    return loading;
  }
  window.courseConceptChecks = {ready: ready};

  function start() {
    var containers = document.querySelectorAll(".jq-quiz");
    if (!containers.length) return;
    var events = ["keydown", "pointerdown", "touchstart", "wheel", "scroll"];
    var go = function () {
      events.forEach(function (t) { window.removeEventListener(t, go, true); });
      ready();
    };
    events.forEach(function (t) { window.addEventListener(t, go, {capture: true, passive: true}); });
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { observer.disconnect(); go(); }
      }, {rootMargin: "1250px 0px"});
      containers.forEach(function (c) { observer.observe(c); });
    } else {
      go();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
