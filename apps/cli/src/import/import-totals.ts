/** Counts of one import, kept across resumed runs in the checkpoint. */
export interface ImportTotals {
  /** Non-blank lines read (events and unreadable lines), excluding a CSV header. */
  lines: number;
  accepted: number;
  duplicate: number;
  /** Same id as a recorded event with different content: the stored one stands. */
  conflict: number;
  /** Refused by the server's validation. */
  rejected: number;
  /** Lines that could not be read as an event (never sent). */
  unreadable: number;
}

export function emptyTotals(): ImportTotals {
  return { lines: 0, accepted: 0, duplicate: 0, conflict: 0, rejected: 0, unreadable: 0 };
}

/** Lines that landed in the rejects file. */
export function rejectedLines(t: ImportTotals): number {
  return t.conflict + t.rejected + t.unreadable;
}
