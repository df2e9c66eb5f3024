// Unit tests run in Node, which has no page location: the API client
// resolves its calls against this origin (its fetch is mocked).
Object.defineProperty(globalThis, "location", { value: new URL("http://agenttrace.test/"), configurable: true });
