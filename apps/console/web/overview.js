/* global window, document, fetch, Chart */
// The overview: /api/overview rendered, refreshed every 10 s (totals across customers move
// slowly; the customer page is the live one).
"use strict";
(function () {
  const { el, fill, table, progressBar, PALETTE, searchForm } = window.TallyConsole;
  const REFRESH_MS = 10000;
  let topChart;
  searchForm();

  const customerLink = (id) => el("a", { href: `/customers/${encodeURIComponent(id)}`, text: id });

  function render(page) {
    document.getElementById("customers").textContent = `${page.customers} active subscription${page.customers === 1 ? "" : "s"}`;
    document.getElementById("refreshed").textContent = `updated ${new Date(page.generatedAt).toLocaleTimeString("en-US", { hour12: false })}`;

    const kpi = (label, value, hint, field) =>
      el("div", { class: "kpi" }, [el("div", { class: "label", text: label }), el("div", { class: "value", "data-field": field, text: value }), el("div", { class: "hint", text: hint })]);
    fill("revenue", page.revenue, (rows) => {
      const extra = [
        kpi("Active customers", String(page.customers), "with an active subscription", "customers"),
        kpi("Near caps", page.nearCaps.available ? String(page.nearCaps.data.length) : "–", "limits at 80% or more", "near-caps"),
      ];
      if (rows.length === 0) return [kpi("Revenue this period", "–", "no active subscriptions"), ...extra];
      return [...rows.flatMap((r) => [
        el("div", { class: "kpi", "data-currency": r.currency }, [
          el("div", { class: "label", text: `Revenue this period · ${r.currency}` }),
          el("div", { class: "value", "data-field": "revenue-to-date", text: r.amountToDate }),
          el("div", { class: "hint", text: `${r.subscriptions} subscription${r.subscriptions === 1 ? "" : "s"}, so far this period` }),
        ]),
        el("div", { class: "kpi", "data-currency": r.currency }, [
          el("div", { class: "label", text: `Forecast end of period · ${r.currency}` }),
          el("div", { class: "value", "data-field": "revenue-forecast", text: r.projectedTotal }),
          el("div", { class: "hint", text: "run-rate of usage, tiers respected" }),
        ]),
      ]), ...extra];
    });

    fill("top-customers", page.topCustomers, (rows) => {
      if (rows.length === 0) return el("div", { class: "empty", text: "No active customers." });
      const box = el("div", { class: "chart bars", style: `height:${60 + rows.length * 34}px` }, el("canvas", { "aria-label": "top customers" }));
      const data = {
        labels: rows.map((r) => r.customerId),
        datasets: [{ label: "Spend to date", data: rows.map((r) => Number(r.amountToDateRaw)), backgroundColor: PALETTE[0], borderRadius: 4, maxBarThickness: 22 }],
      };
      if (topChart) topChart.destroy();
      const currency = rows[0].currency;
      topChart = new Chart(box.firstChild, {
        type: "bar",
        data,
        options: {
          indexAxis: "y",
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { callback: (v) => new Intl.NumberFormat("en-US", { style: "currency", currency }).format(v) } } },
        },
      });
      return [
        box,
        table(
          [{ label: "Customer" }, { label: "Plan" }, { label: "Spend to date", num: true }, { label: "Projected", num: true }],
          rows.map((r) =>
            el("tr", { "data-customer": r.customerId }, [
              el("td", {}, customerLink(r.customerId)),
              el("td", { class: "small", text: r.plan }),
              el("td", { class: "num", "data-field": "spend", text: r.amountToDate }),
              el("td", { class: "num", text: r.projectedTotal }),
            ]),
          ),
          "",
        ),
      ];
    });

    fill("near-caps", page.nearCaps, (rows) =>
      table(
        [{ label: "Customer" }, { label: "Limit" }, { label: "Used" }, { label: "", num: true }],
        rows.map((r) =>
          el("tr", { "data-customer": r.customerId }, [
            el("td", {}, customerLink(r.customerId)),
            el("td", {}, [el("div", { text: r.label }), el("span", { class: `pill ${r.state}`, text: r.kind })]),
            el("td", {}, [progressBar(r.ratio, r.state), el("div", { class: "small", text: `${r.usage} / ${r.value}` })]),
            el("td", { class: "num", "data-field": "percent", text: r.percent }),
          ]),
        ),
        "Nobody is near a limit.",
      ),
    );

    fill("invoices-by-status", page.invoicesByStatus, (rows) =>
      table(
        [{ label: "Status" }, { label: "Count", num: true }, { label: "Total", num: true }],
        rows.map((r) => el("tr", {}, [el("td", {}, el("span", { class: `pill ${r.status}`, text: r.status })), el("td", { class: "num", text: String(r.count) }), el("td", { class: "num", text: r.totals })])),
        "No invoices yet.",
      ),
    );

    fill("failed-payments", page.failedPayments, (rows) =>
      table(
        [{ label: "When" }, { label: "Customer" }, { label: "Invoice" }, { label: "Reason" }, { label: "Amount", num: true }],
        rows.map((r) => el("tr", {}, [el("td", { class: "small", text: r.time }), el("td", {}, customerLink(r.customerId)), el("td", { text: r.invoiceId }), el("td", { text: r.reason }), el("td", { class: "num", text: r.amount })])),
        "No failed payments.",
      ),
    );
  }

  function load() {
    fetch("/api/overview")
      .then((r) => r.json())
      .then(render)
      .finally(() => window.setTimeout(load, REFRESH_MS));
  }
  load();
})();
