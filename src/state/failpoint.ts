// Crash injection lives in host/failpoint.ts (the applier's semaphore writes pass it too).
export { failpoint } from '../host/failpoint.ts';
