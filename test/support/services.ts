/**
 * The services' definitions, for tests and benches elsewhere in the tree that need real services
 * running in-process (the CLI's, the console's). Only test/ may import apps (eslint module
 * boundaries); an app's own tests reach the others through here, never by importing them.
 */
export { createMeteringService, meteringService } from "@tally/metering";
export { createRatingService, ratingService } from "@tally/rating";
export { limitsService } from "@tally/limits";
