// A box wider or taller than its content's room scrolls in place (a formula or a table on a phone: custom.css,
// content.css; code and cell outputs: the theme): such a box takes the keyboard's focus, so that the arrow keys
// scroll it (axe: scrollable-region-focusable), and only while it scrolls, so that the others are not tab stops.
// The theme's script did this for its boxes by measuring them all at once as the page loaded, which made the
// browser lay the whole page out inside the script (replication.book.bundle switches it off); here the boxes are
// measured when the browser is idle, a few at a time, and again when the window changes size or the content does.
(function () {
  "use strict";
  const BOXES = ["div.math > .katex-display", ".rp-table-scroll", "pre", ".nboutput > .output_area",
                 ".cell_output > .output", ".jp-RenderedHTMLCommon", ".pst-scrollable-table-container"].join(", ");
  const idle = window.requestIdleCallback || ((work) => setTimeout(() => work({timeRemaining: () => 8}), 1));

  function check(box) {
    if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) box.tabIndex = 0;
    else box.removeAttribute("tabindex");
  }

  let queue = [], scheduled = false;
  function work(deadline) {
    // a box in a part of the page not drawn yet (content-visibility) is laid out when measured: a few per slice
    do { if (queue.length) check(queue.shift()); } while (queue.length && deadline.timeRemaining() > 4);
    scheduled = queue.length > 0;
    if (scheduled) idle(work, {timeout: 2000});
  }
  function markAll() {
    queue = Array.from(document.querySelectorAll(BOXES));
    if (!scheduled && queue.length) {
      scheduled = true;
      idle(work, {timeout: 2000});
    }
  }

  let pending = null;
  function later() {
    clearTimeout(pending);
    pending = setTimeout(markAll, 300);
  }
  window.addEventListener("resize", later);
  function start() {
    markAll();
    const main = document.getElementById("main-content");
    if (main) new MutationObserver(later).observe(main, {subtree: true, childList: true});
  }
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
