// The app's settings as configuration gives them: what every entry point (the local server,
// each Lambda function) passes to createApp alike.

import type { AppSettings } from "../http/http-app.ts";
import { type Config, rateLimitsOf } from "./config.ts";

export function appSettings(config: Config): AppSettings {
  return {
    counterTypes: config.counterTypes,
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    adminKeys: config.adminKeys,
    readAuth: config.readAuth,
    corsOrigins: config.corsOrigins,
    rateLimits: rateLimitsOf(config),
    authFailureLimit: config.authFailureLimit,
  };
}
