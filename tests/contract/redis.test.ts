import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, redisBackend } from "../support/backends.ts";
import { storeContract } from "./store-contract.ts";

describe("redis store", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await redisBackend();
  }, 30_000);
  afterAll(() => backend?.stop());
  storeContract(() => backend);
});
