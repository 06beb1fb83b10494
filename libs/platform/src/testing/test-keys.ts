/** API keys every test environment accepts, one per scope combination. */
export const TEST_KEYS = {
  admin: "test_admin_key_0123456789",
  ingest: "test_ingest_key_0123456789",
  read: "test_read_key_0123456789",
  all: "test_all_scopes_key_0123456789",
} as const;

export const TEST_API_KEYS = [
  `admin:${TEST_KEYS.admin}:admin`,
  `ingest:${TEST_KEYS.ingest}:ingest`,
  `reader:${TEST_KEYS.read}:read`,
  `all:${TEST_KEYS.all}:admin+ingest+read`,
].join(",");
