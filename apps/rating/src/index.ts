export { ratingService, createRatingService, loadRatingOptions, type RatingOptions, type RatingInternals } from "./rating-service";
