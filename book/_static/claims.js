// The claims page: filter the claims by outcome, kind of evidence and source. The filter lives in the page's
// address (claims.html#outcome=differs&source=T3), so a chapter can link to a filtered page; claims.html#claim-<id>
// opens the row of one claim. Does nothing on pages without a filter bar.
(function () {
  "use strict";
  const KEYS = ["outcome", "kind", "source"];

  function setup() {
    const form = document.querySelector("form.claims-filter");
    if (!form) return;
    const claims = Array.from(document.querySelectorAll("tbody.claim"));
    const blocks = Array.from(document.querySelectorAll(".claims-block"));
    const count = form.querySelector(".claims-count");
    // out of its cell into the page's section, so that it stays in view (sticky) the whole page down
    const cell = form.closest(".cell");
    if (cell) { cell.after(form); cell.querySelector(".cell_output").hidden = true; }
    form.hidden = false;

    function apply(choice) {
      const active = KEYS.some((k) => choice[k]);
      let shown = 0;
      for (const c of claims) {
        c.hidden = !KEYS.every((k) => !choice[k] || c.dataset[k] === choice[k]);
        if (!c.hidden) shown++;
      }
      for (const b of blocks) {
        // a table, or the folded claims that hold, with nothing left to show goes; filtering opens the fold
        for (const t of b.querySelectorAll("table.claims")) t.hidden = !t.querySelector("tbody.claim:not([hidden])");
        for (const d of b.querySelectorAll("details.claims-holding")) {
          d.hidden = !d.querySelector("tbody.claim:not([hidden])");
          if (active) d.open = true;
        }
        b.querySelector(".claims-none").hidden = !!b.querySelector("tbody.claim:not([hidden])");
      }
      // a section of the page (not the page itself) with claims tables but none left to show goes too
      for (const s of document.querySelectorAll("section")) {
        if (!s.parentElement.closest("section") || !s.querySelector(".claims-block")) continue;
        s.hidden = active && !s.querySelector("tbody.claim:not([hidden])");
      }
      count.textContent = active ? `${shown} of ${claims.length} claims` : `${claims.length} claims`;
      // for tests in a headless browser: does the page scroll sideways? Measured once the page is drawn (read
      // while it loads, the widths made the browser lay the whole page out inside this script)
      requestAnimationFrame(() => setTimeout(() => {
        const root = document.documentElement;
        root.dataset.claimsScrollWidth = root.scrollWidth;
        root.dataset.claimsClientWidth = root.clientWidth;
      }));
    }

    function chosen() {
      const choice = {};
      for (const k of KEYS) choice[k] = form.elements[k].value;
      return choice;
    }

    // a row scrolled to (claims.html#claim-<id>) stops below the bar where the bar stays in view (sticky):
    // claims.css gives each row this margin above it, beyond the page's own scroll padding (the theme's header)
    function clearOfTheBar() {
      const root = document.documentElement;
      const style = getComputedStyle(form);
      const padding = parseFloat(getComputedStyle(root).scrollPaddingTop) || 0;
      const below = style.position === "sticky" ? (parseFloat(style.top) || 0) + form.offsetHeight : 0;
      root.style.setProperty("--claims-scroll-margin", `${Math.max(8, below + 8 - padding)}px`);
    }

    function fromHash() {
      const hash = decodeURIComponent(location.hash.slice(1));
      if (hash.startsWith("claim-")) {
        const row = document.getElementById(hash);
        if (!row) return;
        if (row.hidden) form.reset();
        apply(chosen());
        const fold = row.closest("details");
        if (fold) fold.open = true;
        clearOfTheBar();
        row.scrollIntoView({ block: "start" });
        return;
      }
      const params = new URLSearchParams(hash);
      for (const k of KEYS) {
        const select = form.elements[k];
        const value = params.get(k) || "";
        // an unknown value is ignored rather than hiding every claim
        select.value = Array.from(select.options).some((o) => o.value === value) ? value : "";
      }
      apply(chosen());
    }

    form.addEventListener("change", () => {
      const choice = chosen();
      const query = KEYS.filter((k) => choice[k]).map((k) => `${k}=${encodeURIComponent(choice[k])}`).join("&");
      history.replaceState(null, "", query ? `#${query}` : location.pathname + location.search);
      apply(choice);
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    form.elements.all.addEventListener("click", () => {
      form.reset();
      history.replaceState(null, "", location.pathname + location.search);
      apply(chosen());
    });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
