import { SingleBar } from "cli-progress";
import type { Writer } from "../cli-io";
import { rejectedLines } from "./import-totals";
import type { ImportProgress } from "./importer";

/**
 * The live line on a terminal: bytes of the file done (which the ETA follows), events/s of this
 * run, and the outcome so far.
 */
export class ImportProgressBar {
  private readonly bar: SingleBar;

  constructor(stream: Writer & { isTTY?: boolean; columns?: number }, fileBytes: number, startBytes: number) {
    this.bar = new SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: "{bar} {percentage}% | {rate} events/s | ETA {eta_formatted} | accepted {accepted} · duplicate {duplicate} · rejected {rejected}",
      barsize: 24,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      noTTYOutput: false,
    });
    this.bar.start(Math.max(1, fileBytes), startBytes, { rate: 0, accepted: 0, duplicate: 0, rejected: 0 });
  }

  update(p: ImportProgress): void {
    this.bar.update(p.doneBytes, {
      rate: Math.round((p.eventsThisRun * 1000) / Math.max(1, p.elapsedMs)).toLocaleString("en-US"),
      accepted: p.totals.accepted.toLocaleString("en-US"),
      duplicate: p.totals.duplicate.toLocaleString("en-US"),
      rejected: rejectedLines(p.totals).toLocaleString("en-US"),
    });
  }

  stop(): void {
    this.bar.stop();
  }
}
