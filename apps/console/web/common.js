/* global window, document */
// Small helpers shared by the pages: building elements and showing a section or why it is missing.
"use strict";
(function () {
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) if (child) node.append(child);
    return node;
  }

  /** Replaces the content of #id with render(data), or with the reason the section is unavailable. */
  function fill(id, section, render) {
    const target = document.getElementById(id);
    if (!target) return;
    if (!section.available) {
      target.replaceChildren(el("div", { class: "unavailable", "data-unavailable": "", text: section.reason }));
      return;
    }
    target.replaceChildren(...[].concat(render(section.data)));
  }

  function table(headers, rows, empty) {
    if (rows.length === 0) return el("div", { class: "empty", text: empty });
    return el("table", {}, [
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : "", text: h.label })))),
      el("tbody", {}, rows),
    ]);
  }

  function progressBar(ratio, state) {
    const width = Math.max(0, Math.min(1, ratio)) * 100;
    return el("div", { class: `bar ${state || ""}`, role: "progressbar", "aria-valuenow": width.toFixed(1) }, el("i", { style: `width:${width}%` }));
  }

  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#dc2626", "#4b5563", "#db2777"];

  function searchForm() {
    const form = document.getElementById("customer-search");
    if (!form) return;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const id = form.elements.customer.value.trim();
      if (id) window.location.href = `/customers/${encodeURIComponent(id)}`;
    });
  }

  window.TallyConsole = { el, fill, table, progressBar, PALETTE, searchForm };
})();
