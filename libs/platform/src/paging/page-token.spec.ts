import { InvalidArgumentError } from "../errors/errors";
import { decodePageToken, encodePageToken, pageSize } from "./page-token";

describe("paging", () => {
  it("reads page_size as the contract says", () => {
    expect([pageSize(0), pageSize(7), pageSize(5000)]).toEqual([100, 7, 1000]);
    expect(() => pageSize(-1)).toThrow(InvalidArgumentError);
  });

  it("round-trips a cursor, and refuses a foreign token or one issued for other request fields", () => {
    const token = encodePageToken({ after: "k_9", include_archived: "1" });
    expect(decodePageToken(token, ["after"], { include_archived: "1" })).toEqual({ after: "k_9", include_archived: "1" });
    expect(decodePageToken("", ["after"])).toBeUndefined();
    expect(() => decodePageToken("not-a-token", ["after"])).toThrow(/page_token/);
    expect(() => decodePageToken(token, ["after"], { include_archived: "0" })).toThrow(/include_archived: must stay the same/);
  });
});
