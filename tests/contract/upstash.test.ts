import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, upstashBackend } from "../support/backends.ts";
import { storeContract } from "./store-contract.ts";

describe("upstash store", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await upstashBackend();
  }, 30_000);
  afterAll(() => backend?.stop());
  storeContract(() => backend);
});
