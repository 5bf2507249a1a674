import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, clusterBackend } from "../support/backends.ts";
import { storeContract } from "./store-contract.ts";

describe("cluster store", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await clusterBackend();
  }, 30_000);
  afterAll(() => backend?.stop());
  storeContract(() => backend);
});
