export { startConsole, type RunningConsole } from "./console-app";
export { loadConsoleSettings, type ConsoleSettings } from "./settings";
