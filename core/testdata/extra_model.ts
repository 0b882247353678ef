// A valid plugin registering one model, for loader tests.
import { definePlugin } from "@cnnlab/core";
export default definePlugin({
  name: "@test/extra",
  version: "0.0.1",
  provides: { models: { tiny: () => ({ name: "tiny", input: [1, 4, 4], layers: [{ type: "flatten" }] }) } },
});
