export { createMeteringService, meteringService } from "./metering-service";
export { loadMeteringSettings, type MeteringSettings } from "./settings";
