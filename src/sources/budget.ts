// One budget for everything a source gives: its meta-data (and a metadata
// service's walk), user-data, vendor-data and network config as they are read
// in the search, then in stage init the user-data's and vendor-data's
// documents once gzip is undone and #includes are fetched. Every reader is
// asked for at most what is left, so nothing larger is ever held, and what
// is saved from it (instance data, user-data.txt) stays within what its own
// readers accept. Over the budget, what did not fit is left out and
// reported; the boot goes on with what fit (a source without its meta-data
// is not found).
import { utf8Encode } from '../host/codecs.ts';
import { PathError } from '../host/tree.ts';
import { HttpError } from '../net/http.ts';
import type { SourceData } from '../types.ts';

/** 16 MiB: far above any cloud's own limit on user-data (EC2 16 KiB, Azure 64 KiB, GCE 256 KiB). */
export const SOURCE_BUDGET = 16 * 1024 * 1024;

/** A reader's refusal of a file larger than it was asked to read (volume readers throw it). */
export class TooLarge extends Error {}

/** Something that would have gone past the budget: nothing of it was kept. */
export class OverBudget extends Error {}

/** A refusal for size by any reader: a file under the root, a volume's file, an HTTP answer. */
function isTooLarge(e: unknown): boolean {
  return e instanceof TooLarge || (e instanceof PathError && e.code === 'EFBIG') || (e instanceof HttpError && e.kind === 'too-large');
}

export class ReadBudget {
  used = 0;
  readonly limit: number;
  constructor(limit = SOURCE_BUDGET) { this.limit = limit; }

  left(): number { return Math.max(0, this.limit - this.used); }

  /** Count `n` bytes of `what`; OverBudget (nothing counted) when they do not fit. */
  take(n: number, what: string): void {
    if (n > this.left()) throw this.over(what, n);
    this.used += n;
  }

  /** `read` asked for at most what is left, its result counted; OverBudget when it is larger. */
  readSync(what: string, read: (maxBytes: number) => Uint8Array | null): Uint8Array | null {
    let got: Uint8Array | null;
    try { got = read(this.left()); } catch (e) { throw this.refused(what, e); }
    if (got !== null) this.take(got.length, what);
    return got;
  }

  /** readSync() of a reader that waits (HTTP). */
  async read(what: string, read: (maxBytes: number) => Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    let got: Uint8Array | null;
    try { got = await read(this.left()); } catch (e) { throw this.refused(what, e); }
    if (got !== null) this.take(got.length, what);
    return got;
  }

  /**
   * readSync() of something the boot can do without (user-data, vendor-data,
   * network config): over the budget it is reported and read as absent.
   */
  optionalSync(what: string, report: (message: string) => void, read: (maxBytes: number) => Uint8Array | null): Uint8Array | null {
    try { return this.readSync(what, read); } catch (e) { return this.leftOut(e, report); }
  }

  /** optionalSync() of a reader that waits. */
  async optional(what: string, report: (message: string) => void, read: (maxBytes: number) => Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    try { return await this.read(what, read); } catch (e) { return this.leftOut(e, report); }
  }

  private refused(what: string, e: unknown): unknown {
    return isTooLarge(e) ? this.over(what) : e;
  }

  private leftOut(e: unknown, report: (message: string) => void): null {
    if (!(e instanceof OverBudget)) throw e;
    report(e.message);
    return null;
  }

  /** The error for `what` when it does not fit (its size when known). */
  over(what: string, size?: number): OverBudget {
    return new OverBudget(`${what}${size === undefined ? ' is larger than what is left of' : ` (${size} bytes) does not fit in`} the ` +
      `${this.limit}-byte budget for all a source gives (${this.used} bytes used before it): left out`);
  }
}

/**
 * After a source's read: what it gives kept within the budget, whatever its
 * own readers checked (a source that counts nothing is measured: its cache
 * files, user-data and vendor-data). The meta-data must fit (else this
 * throws: the source is not found); then user-data, then vendor-data, each
 * left out (and reported) when it does not. Sets found.metaBytes.
 */
export function keepWithinBudget(found: SourceData, budget: ReadBudget, report: (message: string) => void): void {
  const user = found.userData?.length ?? 0;
  const vendor = found.vendorData?.length ?? 0;
  // (A cache file that is the user-data or vendor-data itself is counted as that.)
  const measured = Object.values(found.cache ?? {}).reduce((n, v) => n + (v === found.userData || v === found.vendorData ? 0
    : typeof v === 'string' ? utf8Encode(v).length : v.length), 0);
  const meta = budget.used > 0 ? Math.max(0, budget.used - user - vendor) : measured;
  const check = new ReadBudget(budget.limit);
  check.take(meta, 'the meta-data');
  try { check.take(user, 'the user-data'); } catch (e) { report((e as Error).message); found.userData = null; }
  try { check.take(vendor, 'the vendor-data'); } catch (e) { report((e as Error).message); found.vendorData = null; }
  found.metaBytes = meta;
}
