import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, memoryBackend } from "../support/backends.ts";
import { storeContract } from "./store-contract.ts";

describe("memory store", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await memoryBackend();
  }, 30_000);
  afterAll(() => backend?.stop());
  storeContract(() => backend);
});
