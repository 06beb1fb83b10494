export { createServiceClient as createTestClient, type ServiceClient as TestClient } from "../grpc/client";
