import type { Logger } from "@tally/platform";
import { SectionUnavailableError } from "../domain/errors";

/** One block of a page: its data, or why it cannot be shown (the rest of the page still is). */
export type Section<T> = { available: true; data: T } | { available: false; reason: string };

export async function section<T>(log: Logger, name: string, work: () => Promise<T>): Promise<Section<T>> {
  try {
    return { available: true, data: await work() };
  } catch (err) {
    if (err instanceof SectionUnavailableError) return { available: false, reason: err.message };
    log.error("section failed", { section: name, err });
    return { available: false, reason: "could not be loaded" };
  }
}

/** Runs `work` over `items` with at most `width` in flight: the overview asks per customer. */
export async function mapLimited<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
