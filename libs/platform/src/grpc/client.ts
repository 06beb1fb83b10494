import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

export interface ServiceClient<S extends DescService> {
  client: Client<S>;
  /** Closes the HTTP/2 session (a process, or jest, can then exit). */
  close(): void;
}

/**
 * A typed Connect client speaking real gRPC to another Tally service (or, in tests, to the
 * service under test), authenticated with `apiKey`.
 */
export function createServiceClient<S extends DescService>(service: S, address: string, apiKey?: string): ServiceClient<S> {
  const baseUrl = `http://${address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    interceptors: apiKey
      ? [
          (next) => (request) => {
            request.header.set("authorization", `Bearer ${apiKey}`);
            return next(request);
          },
        ]
      : [],
  });
  return { client: createClient(service, transport), close: () => sessionManager.abort() };
}
