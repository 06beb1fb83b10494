import { SectionUnavailableError } from "../domain/errors";
import { startFakeUpstream, type FakeUpstream } from "../test-support/fake-invoicing";
import { TallyServices } from "./tally-services";

/** How a page learns why a block is missing: the adapter turns gRPC failures into reasons. */
describe("TallyServices failures", () => {
  let bare: FakeUpstream;
  let services: TallyServices;
  let nowhere: TallyServices;

  beforeAll(async () => {
    bare = await startFakeUpstream();
    const at = (address: string) => ({ metering: address, rating: address, limits: address, invoicing: address, payments: address });
    services = new TallyServices(at(bare.address), "key");
    nowhere = new TallyServices(at("127.0.0.1:1"), "key"); // nothing listens on port 1
  });

  afterAll(async () => {
    services.close();
    nowhere.close();
    await bare.close();
  });

  test("a service that does not serve the rpc yet is 'not available'", async () => {
    const err = await services.invoices("cus_1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SectionUnavailableError);
    expect(err).toMatchObject({ reason: "not_available", message: "invoicing not available" });
    await expect(services.payments()).rejects.toMatchObject({ reason: "not_available", message: "payments not available" });
  });

  test("a service that does not answer is 'unreachable'", async () => {
    // The first call meets a refused connection, later ones a session already known to be down.
    await expect(nowhere.balance("cus_1")).rejects.toMatchObject({ reason: "unreachable", message: "limits unreachable" });
    await expect(nowhere.balance("cus_1")).rejects.toMatchObject({ reason: "unreachable", message: "limits unreachable" });
  });
});
