// A plugin module that fails while loading, for loader tests.
throw new Error("broken on purpose");
