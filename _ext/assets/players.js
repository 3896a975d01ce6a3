/* matplotlib's HTML players (chapter 4) for screen readers. _ext/reader_site.py has moved the frames into image
 * files, fetched when shown, and labelled the slider; this keeps the slider's value text ("frame 5 of 33", or the
 * frame's own label where the player's picture carries data-frame-labels, a JSON list) and the picture's alt text
 * in step with the frame shown, however it changes (slider, buttons, playing). */
(function () {
  "use strict";

  function wire(box, tries) {
    var img = box.querySelector("img[id^='_anim_img']");
    var slider = box.querySelector("input.anim-slider");
    if (!img || !slider) return;
    var id = img.id.replace("_anim_img", "");
    var player = window["anim" + id];
    if (!player) { // matplotlib creates it in a setTimeout(0) of its own
      if (tries < 200) setTimeout(function () { wire(box, tries + 1); }, 25);
      return;
    }
    if (player.__reader) return;
    player.__reader = true;
    var description = img.getAttribute("alt") || "animation";
    var labels = null;
    try { labels = JSON.parse(img.dataset.frameLabels || "null"); } catch (e) { labels = null; }
    var setFrame = player.set_frame;
    function show(frame) {
      var n = player.frames.length;
      var text = labels && labels[frame] ? labels[frame] : "frame " + (frame + 1) + " of " + n;
      slider.setAttribute("aria-valuetext", text);
      img.setAttribute("alt", description + " (" + text + ")");
    }
    player.set_frame = function (frame) {
      setFrame.call(player, frame);
      show(player.current_frame);
    };
    show(player.current_frame);
  }

  function start() {
    document.querySelectorAll("div.animation").forEach(function (box) { wire(box, 0); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
