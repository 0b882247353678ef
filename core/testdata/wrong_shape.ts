// A default export that is not a plugin declaration, for loader tests.
export default { hello: "world" };
