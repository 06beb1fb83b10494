import { loadServiceConfig, runServiceMain } from "@tally/platform";
import { ratingService } from "./rating-service";

void runServiceMain(ratingService, () => loadServiceConfig("rating"));
