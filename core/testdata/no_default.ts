// A module without a default export, for loader tests.
export const nothing = 1;
