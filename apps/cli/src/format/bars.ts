const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const SPARKS = "▁▂▃▄▅▆▇█";

/** A horizontal bar `width` cells wide at full scale, in eighths of a cell. `fraction` is clamped to [0, 1]. */
export function bar(fraction: number, width = 20): string {
  const eighths = Math.round(clamp(fraction) * width * 8);
  return "█".repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** One block per value, scaled to `max` (default the largest value); all-zero series show as the lowest block. */
export function sparkline(values: number[], max = Math.max(0, ...values)): string {
  return values.map((v) => SPARKS[max === 0 ? 0 : Math.round(clamp(v / max) * (SPARKS.length - 1))]).join("");
}

function clamp(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
