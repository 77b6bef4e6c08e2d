// The one Sys object the agent uses (sys-api.ts says what it is). Under Node
// it is node-sys.ts; the QuickJS build puts qjs-sys.ts (the C host module) here.
export { sys } from './node-sys.ts';
export * from './sys-api.ts';
