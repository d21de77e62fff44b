// A formula or a table wider than the column scrolls sideways in its own box (custom.css, content.css): such a box
// takes the keyboard's focus, so that the arrow keys scroll it (axe: scrollable-region-focusable), and only while
// it scrolls, so that the others are not tab stops. The theme does the same for code and its own table boxes.
(function () {
  "use strict";
  const BOXES = "div.math > .katex-display, .rp-table-scroll";

  function mark() {
    for (const box of document.querySelectorAll(BOXES)) {
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    }
  }

  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(mark, 200);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
})();
