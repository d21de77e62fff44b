// The two bootstrap widgets the themes' pages use, in place of bootstrap's 81 kB script (replication.book.bundle):
// the header buttons' tooltips ([data-bs-toggle="tooltip"]) and the download menu ([data-bs-toggle="dropdown"]),
// with bootstrap's classes (so its styles in the theme's stylesheet draw them) and its behaviour: a tooltip shows
// on hover and on keyboard focus, the control's title becomes its accessible name where it has no text, and
// aria-describedby points at the tooltip while it shows; the menu opens on click, Enter or Space, the arrow keys
// move through its items, Escape or a click elsewhere closes it and gives the focus back. window.bootstrap.Tooltip
// is what pydata-sphinx-theme's script calls for its sidebar-collapse button.
(function () {
  "use strict";
  const GAP = 2;  // px between a control and its tooltip's arrow
  let counter = 0;

  class Tooltip {
    constructor(element, options = {}) {
      this.element = element;
      this.options = options;
      this.tip = null;
      const title = element.getAttribute("title");
      if (title) {  // bootstrap's _fixTitle: the browser's own tooltip would show beside this one
        if (!element.getAttribute("aria-label") && !element.textContent.trim()) element.setAttribute("aria-label", title);
        element.setAttribute("data-bs-original-title", title);
        element.removeAttribute("title");
      }
      if (options.trigger !== "manual") {
        element.addEventListener("mouseenter", () => this.show());
        element.addEventListener("focusin", () => { if (element.matches(":focus-visible")) this.show(); });
        for (const name of ["mouseleave", "focusout", "click"]) element.addEventListener(name, () => this.hide());
      }
    }

    title() {
      return this.options.title || this.element.getAttribute("data-bs-title")
        || this.element.getAttribute("data-bs-original-title") || "";
    }

    show() {
      const text = this.title();
      if (this.tip || !text || !this.element.isConnected) return;
      const tip = document.createElement("div");
      tip.className = "tooltip bs-tooltip-auto fade";
      tip.setAttribute("role", "tooltip");
      tip.id = `rp-tooltip-${++counter}`;
      const arrow = document.createElement("div");
      arrow.className = "tooltip-arrow";
      const inner = document.createElement("div");
      inner.className = "tooltip-inner";
      inner.textContent = text;
      tip.append(arrow, inner);
      tip.style.position = "absolute";
      tip.style.inset = "0 auto auto 0";
      tip.style.margin = "0";
      document.body.append(tip);
      this.tip = tip;
      this.element.setAttribute("aria-describedby", tip.id);
      this.place(arrow);
      tip.classList.add("show");
    }

    place(arrow) {
      const tip = this.tip, at = this.element.getBoundingClientRect(), size = tip.getBoundingClientRect();
      const wanted = this.options.placement || this.element.getAttribute("data-bs-placement") || "top";
      const fits = {top: at.top >= size.height, bottom: innerHeight - at.bottom >= size.height,
                    left: at.left >= size.width, right: innerWidth - at.right >= size.width};
      const order = [wanted, ...(this.options.fallbackPlacements || []),
                     {top: "bottom", bottom: "top", left: "right", right: "left"}[wanted]];
      const side = order.find((s) => fits[s]) || wanted;
      let x, y;
      if (side === "top" || side === "bottom") {
        x = at.left + at.width / 2 - size.width / 2;
        y = side === "top" ? at.top - size.height - GAP : at.bottom + GAP;
      } else {
        x = side === "left" ? at.left - size.width - GAP : at.right + GAP;
        y = at.top + at.height / 2 - size.height / 2;
      }
      const left = Math.max(0, Math.min(x, document.documentElement.clientWidth - size.width));
      tip.setAttribute("data-popper-placement", side);
      tip.style.transform = `translate(${Math.round(left + scrollX)}px, ${Math.round(y + scrollY)}px)`;
      arrow.style.position = "absolute";
      if (side === "top" || side === "bottom") {
        arrow.style.left = `${Math.round(at.left + at.width / 2 - left - arrow.offsetWidth / 2)}px`;
      } else {
        arrow.style.top = `${Math.round((size.height - arrow.offsetHeight) / 2)}px`;
      }
    }

    hide() {
      if (!this.tip) return;
      this.tip.remove();
      this.tip = null;
      this.element.removeAttribute("aria-describedby");
    }
  }

  // -- the dropdown menus --------------------------------------------------------------------------------------
  const TOGGLE = '[data-bs-toggle="dropdown"]';
  const menuOf = (toggle) => toggle.parentElement.querySelector(".dropdown-menu");
  const items = (menu) => Array.from(menu.querySelectorAll(".dropdown-item:not(.disabled):not(:disabled)"));

  function close(toggle, focus) {
    const menu = menuOf(toggle);
    if (!menu || !menu.classList.contains("show")) return;
    menu.classList.remove("show");
    toggle.classList.remove("show");
    toggle.setAttribute("aria-expanded", "false");
    if (focus) toggle.focus();
  }

  function open(toggle) {
    const menu = menuOf(toggle);
    if (!menu) return;
    for (const other of document.querySelectorAll(`${TOGGLE}.show`)) if (other !== toggle) close(other, false);
    menu.classList.add("show");
    toggle.classList.add("show");
    toggle.setAttribute("aria-expanded", "true");
    // where bootstrap puts it: under its button, their left edges lined up, moved left as far as it must to
    // stay inside the window
    const parent = menu.offsetParent || toggle.parentElement;
    const room = parent.getBoundingClientRect(), at = toggle.getBoundingClientRect();
    Object.assign(menu.style, {position: "absolute", inset: "0 auto auto 0", margin: "0"});
    const width = menu.getBoundingClientRect().width, right = document.documentElement.clientWidth;
    const x = Math.max(-room.left, Math.min(at.left, right - width) - room.left);
    menu.style.transform = `translate(${Math.round(x)}px, ${Math.round(at.bottom - room.top + GAP)}px)`;
    menu.setAttribute("data-popper-placement", "bottom-start");
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest(TOGGLE);
    for (const shown of document.querySelectorAll(`${TOGGLE}.show`)) {
      if (shown !== toggle && !menuOf(shown).contains(event.target)) close(shown, false);
      else if (shown !== toggle && event.target.closest(".dropdown-item")) close(shown, false);
    }
    if (!toggle) return;
    event.preventDefault();
    if (toggle.classList.contains("show")) close(toggle, false);
    else open(toggle);
  });

  document.addEventListener("keydown", (event) => {
    const toggle = event.target.closest(TOGGLE)
      || event.target.closest(".dropdown-menu")?.parentElement.querySelector(TOGGLE);
    if (!toggle) return;
    const menu = menuOf(toggle);
    if (event.key === "Escape") {
      close(toggle, true);
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    if (!menu.classList.contains("show")) open(toggle);
    const list = items(menu);
    if (!list.length) return;
    const at = list.indexOf(document.activeElement);
    const step = event.key === "ArrowDown" ? 1 : -1;
    list[at < 0 ? (step > 0 ? 0 : list.length - 1) : (at + step + list.length) % list.length].focus();
  });

  window.bootstrap = Object.assign(window.bootstrap || {}, {Tooltip});

  function setup() {
    for (const element of document.querySelectorAll('[data-bs-toggle="tooltip"]')) new Tooltip(element);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
