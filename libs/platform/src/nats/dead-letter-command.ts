/**
 * Admin command for dead letters (see dead-letter.ts):
 *
 *   npm run dead-letters -- count [consumer]
 *   npm run dead-letters -- list [consumer]
 *   npm run dead-letters -- replay <seq>
 *
 * Reads NATS_URL and NATS_PREFIX like the services do.
 */
import { EventBus } from "./event-bus";
import { countDeadLetters, listDeadLetters, replayDeadLetter } from "./dead-letter";

export async function runDeadLetterCommand(args: readonly string[], bus: EventBus, out: (line: string) => void): Promise<void> {
  const [command, arg] = args;
  switch (command) {
    case "count":
      out(String(await countDeadLetters(bus, arg)));
      return;
    case "list":
      for (const l of await listDeadLetters(bus, arg)) {
        out(`${l.seq}\t${l.time.toISOString()}\t${l.consumer}\t${l.subject}\t${l.originalStream}#${l.originalSeq}\tdeliveries=${l.deliveries}\t${l.data.length} B\t${l.error}`);
      }
      return;
    case "replay": {
      const seq = Number(arg);
      if (!Number.isSafeInteger(seq) || seq <= 0) throw new Error("replay needs the dead letter's sequence (from `list`)");
      const letter = await replayDeadLetter(bus, seq);
      out(`replayed ${seq} on ${letter.subject}`);
      return;
    }
    default:
      throw new Error("usage: dead-letters count [consumer] | list [consumer] | replay <seq>");
  }
}

if (require.main === module) {
  void (async () => {
    const bus = await EventBus.connect({ url: process.env.NATS_URL ?? "nats://127.0.0.1:4222", prefix: process.env.NATS_PREFIX ?? "", name: "tally-dead-letters" });
    try {
      await runDeadLetterCommand(process.argv.slice(2), bus, (line) => process.stdout.write(`${line}\n`));
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    } finally {
      await bus.close();
    }
  })();
}
