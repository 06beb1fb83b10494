/* global window, document, EventSource, Chart */
// The customer page: a server-sent-events stream (/api/customers/:id/events) delivers each block
// of the page as the server has it, now and after every change; the page merges and re-renders —
// no reload, no polling.
"use strict";
(function () {
  const { el, fill, table, progressBar, PALETTE, searchForm } = window.TallyConsole;
  const customerId = decodeURIComponent(window.location.pathname.split("/").pop());
  const charts = new Map();
  searchForm();
  document.getElementById("customer-id").textContent = customerId;
  document.title = `${customerId} · Tally Console`;

  function text(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value;
  }

  /** Creates a chart once and afterwards only swaps its data, so live updates do not flicker. */
  function chart(key, canvasParent, config) {
    let existing = charts.get(key);
    if (existing && existing.canvas.isConnected) {
      existing.data = config.data;
      existing.update("none");
      canvasParent.replaceChildren(existing.canvas.parentNode);
      return;
    }
    const box = el("div", { class: "chart" }, el("canvas", { "aria-label": key }));
    canvasParent.replaceChildren(box);
    existing = new Chart(box.firstChild, config);
    charts.set(key, existing);
  }

  const loading = { available: false, reason: "loading…" };
  const page = {};
  for (const key of ["subscription", "components", "amount", "forecast", "usage", "credits", "limits", "alerts", "invoices"]) page[key] = loading;

  function render() {
    // Every block has arrived at least once (tests and screenshots wait for this).
    document.body.dataset.loaded = String(Object.values(page).every((s) => s !== loading));
    const s = page.subscription;
    text("subscription", s.available ? `${s.data.plan} · ${s.data.period} (${s.data.timeZone})` : s.reason);
    text("running-amount", page.amount.available ? page.amount.data.total : "–");
    text("projected-total", page.forecast.available ? page.forecast.data.projectedTotal : "–");
    text("forecast-hint", page.forecast.available ? `end of period · ${page.forecast.data.elapsed} elapsed` : page.forecast.reason);
    text("credit-balance", page.credits.available ? page.credits.data.balance : "–");
    text("credit-hint", page.credits.available ? `${page.credits.data.available} available${page.credits.data.prepaidOnly ? " · prepaid only" : ""}` : page.credits.reason);

    const headline = page.components.available ? page.components.data.find((c) => c.progress !== null) || page.components.data[0] : undefined;
    text("current-tier", headline ? `Tier ${headline.tier}` : "–");
    text("tier-hint", headline ? `${label(headline)}${headline.unitsToNextTier ? ` · ${headline.unitsToNextTier} to tier ${headline.tier + 1}` : " · top tier"}` : "no usage yet");

    fill("components", page.components, (rows) =>
      table(
        [{ label: "Component" }, { label: "Usage", num: true }, { label: "Tier" }, { label: "Amount", num: true }],
        rows.map((c) =>
          el("tr", { "data-component": label(c) }, [
            el("td", {}, [el("div", { text: label(c) }), el("div", { class: "small", text: c.plan })]),
            el("td", { class: "num", "data-field": "quantity", text: c.quantity }),
            el("td", {}, [
              el("div", { class: "tier", "data-field": "tier", text: `Tier ${c.tier}` }),
              el("div", { class: "small", text: c.tierRange }),
              c.progress === null ? el("div", { class: "small", text: "no further tier" }) : progressBar(c.progress),
              c.unitsToNextTier ? el("div", { class: "small", "data-field": "to-next-tier", text: `${c.unitsToNextTier} to next tier` }) : null,
            ]),
            el("td", { class: "num", "data-field": "amount", text: c.amount }),
          ]),
        ),
        "No usage rated this period.",
      ),
    );

    fill("usage", page.usage, (meters) => {
      text("usage-total", meters.map((m) => `${m.meterKey}: ${m.total}`).join(" · "));
      if (meters.length === 0) return el("div", { class: "empty", text: "No metered usage this period." });
      return meters.map((m) => {
        const holder = el("div", { "data-meter": m.meterKey });
        const datasets = m.chart.series.map((s, i) => ({
          label: s.group || m.meterKey,
          data: s.values.map(Number), // chart geometry only: the figures shown are the formatted strings
          backgroundColor: PALETTE[i % PALETTE.length],
          borderRadius: 3,
          stack: "usage",
        }));
        chart(`usage:${m.meterKey}`, holder, {
          type: "bar",
          data: { labels: m.chart.days, datasets },
          options: {
            maintainAspectRatio: false,
            animation: false,
            plugins: { legend: { position: "bottom" }, title: { display: meters.length > 1, text: m.meterKey } },
            scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } }, y: { stacked: true, beginAtZero: true } },
          },
        });
        return holder;
      });
    });

    fill("limits", page.limits, (rows) =>
      table(
        [{ label: "Limit" }, { label: "Used" }, { label: "Usage / limit", num: true }],
        rows.map((l) =>
          el("tr", { "data-limit": l.id }, [
            el("td", {}, [el("div", { text: l.label }), el("span", { class: `pill ${l.state}`, text: l.kind })]),
            el("td", {}, [progressBar(l.ratio, l.state), el("div", { class: "small", "data-field": "percent", text: l.percent })]),
            el("td", { class: "num", "data-field": "usage", text: `${l.usage} / ${l.value}` }),
          ]),
        ),
        "No limits for this customer.",
      ),
    );

    fill("credits", page.credits, (c) => {
      if (c.burnDown.length === 0) return el("div", { class: "empty", text: "No credit grants." });
      const holder = el("div");
      chart("credits", holder, {
        type: "line",
        data: {
          labels: c.burnDown.map((p) => new Date(p.time).toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })),
          datasets: [{ label: "Balance", data: c.burnDown.map((p) => Number(p.balance)), borderColor: "#2563eb", backgroundColor: "rgba(37,99,235,.12)", fill: true, stepped: true, pointRadius: 2 }],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: {
            x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { beginAtZero: true, ticks: { callback: (v) => new Intl.NumberFormat("en-US", { style: "currency", currency: c.currency }).format(v) } },
          },
        },
      });
      return holder;
    });

    fill("alerts", page.alerts, (rows) =>
      table(
        [{ label: "When" }, { label: "Limit" }, { label: "Threshold" }, { label: "Observed", num: true }],
        rows.map((a) => el("tr", {}, [el("td", { text: a.time }), el("td", { text: a.limit }), el("td", { text: a.threshold }), el("td", { class: "num", text: a.observed })])),
        "No alerts this period.",
      ),
    );

    fill("invoices", page.invoices, (rows) =>
      table(
        [{ label: "Number" }, { label: "Period" }, { label: "Status" }, { label: "Total", num: true }, { label: "Due", num: true }, { label: "" }],
        rows.flatMap((i) => [
          el("tr", { "data-invoice": i.id }, [
            el("td", { class: "nowrap", text: i.number }),
            el("td", { class: "small", text: i.period }),
            el("td", {}, el("span", { class: `pill ${i.status}`, text: i.status })),
            el("td", { class: "num", text: i.total }),
            el("td", { class: "num", text: i.amountDue }),
            el("td", { class: "num" }, [el("a", { href: i.pdf, target: "_blank", text: "PDF" }), " · ", el("a", { href: i.html, target: "_blank", text: "HTML" })]),
          ]),
          // Its credit notes, each under the invoice it credits.
          ...(i.creditNotes ?? []).map((n) =>
            el("tr", { "data-credit-note": n.id, class: "credit-note" }, [
              el("td", { class: "nowrap small", text: `↳ ${n.number}` }),
              el("td", { class: "small", text: n.reason }),
              el("td", {}, el("span", { class: "pill credit", text: "credit note" })),
              el("td", { class: "num", text: `-${n.amount}` }),
              el("td", {}),
              el("td", { class: "num" }, [el("a", { href: n.pdf, target: "_blank", text: "PDF" }), " · ", el("a", { href: n.html, target: "_blank", text: "HTML" })]),
            ]),
          ),
        ]),
        "No invoices yet.",
      ),
    );
  }

  function label(c) {
    return c.dimensionValue ? `${c.componentKey} · ${c.dimensionValue}` : c.componentKey;
  }

  function connect() {
    const live = document.getElementById("live");
    const source = new EventSource(`/api/customers/${encodeURIComponent(customerId)}/events`);
    source.addEventListener("sections", (event) => {
      Object.assign(page, JSON.parse(event.data));
      render();
      live.classList.add("on");
      text("live-text", `live · updated ${new Date().toLocaleTimeString("en-US", { hour12: false })}`);
    });
    source.onerror = () => {
      live.classList.remove("on");
      text("live-text", "reconnecting…");
    };
  }

  // The stream's first message is the page as it is now, so there is no separate first fetch.
  connect();
})();
