export { ratingService, createRatingService, type RatingInternals } from "./rating-service";
export { loadRatingSettings, type RatingSettings } from "./settings";
