/**
 * One usage event read from an import file, before encoding. Plain data rather than a
 * protobuf-es message: building messages with `create()` and `toBinary()` measured ~17k events/s
 * here, well under what the import must sustain, so batches are encoded by hand
 * (batch-encoder.ts) straight from this shape.
 */
export interface ImportEvent {
  id: string;
  customerId: string;
  eventType: string;
  /** Event time in epoch milliseconds; undefined lets the server use its receive time. */
  timeMs: number | undefined;
  /** Property names and values, in file order. */
  properties: [string, string][];
}
