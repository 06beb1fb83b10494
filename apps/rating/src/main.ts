import { loadServiceConfigWithSettings, runServiceMain } from "@tally/platform";
import { ratingService } from "./rating-service";
import { loadRatingSettings } from "./settings";

void runServiceMain(ratingService, () => loadServiceConfigWithSettings("rating", [loadRatingSettings]));
