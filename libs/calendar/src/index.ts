/** @tally/calendar — wall-clock arithmetic in IANA time zones, shared by rating and forecasting; see ../README.md. */
export * from "./time-zone";
