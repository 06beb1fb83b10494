import { createHash, timingSafeEqual } from "node:crypto";

/** What a caller may do. `admin` also grants `read`. */
export type Scope = "ingest" | "read" | "admin";
const SCOPES: readonly Scope[] = ["ingest", "read", "admin"];

export interface Principal {
  /** The key's name from configuration (never the secret): safe to log. */
  keyName: string;
  scopes: ReadonlySet<Scope>;
}

interface StoredKey {
  name: string;
  digest: Buffer;
  scopes: ReadonlySet<Scope>;
}

/**
 * Parses `API_KEYS`: comma-separated `name:secret:scope+scope` entries, e.g.
 * `gateway:sk_live_0123456789abcdef:ingest,ops:sk_ops_0123456789abcdef:admin+ingest`.
 */
export function parseApiKeys(raw: string | undefined): ApiKeys {
  if (!raw) throw new Error("is required (comma-separated name:secret:scope+scope entries)");
  const keys: StoredKey[] = [];
  const names = new Set<string>();
  raw.split(",").forEach((entry, index) => {
    const [name, secret, scopeList, ...rest] = entry.trim().split(":");
    const where = `entry ${index + 1}`;
    if (!name || !secret || !scopeList || rest.length > 0) throw new Error(`${where} must be name:secret:scopes`);
    if (names.has(name)) throw new Error(`${where}: duplicate key name "${name}"`);
    if (secret.length < 16) throw new Error(`${where} ("${name}"): secret must be at least 16 characters`);
    const scopes = new Set<Scope>();
    for (const scope of scopeList.split("+")) {
      if (!(SCOPES as readonly string[]).includes(scope)) {
        throw new Error(`${where} ("${name}"): unknown scope "${scope}" (use ${SCOPES.join(", ")})`);
      }
      scopes.add(scope as Scope);
    }
    if (scopes.has("admin")) scopes.add("read");
    names.add(name);
    keys.push({ name, digest: digest(secret), scopes });
  });
  return new ApiKeys(keys);
}

export class ApiKeys {
  constructor(private readonly keys: readonly StoredKey[]) {}

  /**
   * Finds the key matching a presented secret. Compares digests in constant
   * time and always walks every key, so timing reveals neither the secret nor
   * which key matched.
   */
  authenticate(secret: string): Principal | undefined {
    const presented = digest(secret);
    let found: StoredKey | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(presented, key.digest) && !found) found = key;
    }
    return found && { keyName: found.name, scopes: found.scopes };
  }
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}
