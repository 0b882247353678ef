// A plugin built for another core version, for loader tests.
export default { name: "@test/old", version: "1.0.0", core: "9.0.0", provides: {} };
