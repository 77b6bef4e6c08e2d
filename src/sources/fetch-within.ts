// A metadata service's answers, read within the source's budget (budget.ts):
// each request asks for at most what is left, and its body is counted, so a
// walk of a thousand paths or one large document cannot hold more than the
// budget. `oneDocument` is the reader of the services that give everything in
// one document (DigitalOcean, Vultr, UpCloud: JSON; Hetzner: YAML).
import { asText } from '../bytes.ts';
import { fetchWithRetries, type FetchOptions } from '../net/fetch.ts';
import { HttpError, type HttpResponse } from '../net/http.ts';
import { isMapping, parseYaml } from '../yaml/index.ts';
import { OverBudget, type ReadBudget } from './budget.ts';

/**
 * fetchWithRetries() asking for at most what is left of `budget` (and at most
 * opts.maxBytes) at each attempt, every answer's body counted whatever its
 * status (it was held, a retried 503's too); OverBudget when one is larger
 * than what is left.
 */
export async function fetchWithin(budget: ReadBudget, url: string, opts: FetchOptions): Promise<HttpResponse> {
  const cap = opts.maxBytes ?? Infinity;
  // Nothing left: no request (its answer could not be kept).
  if (budget.left() === 0) throw budget.over(url);
  let askedFor = Math.min(cap, budget.left());
  try {
    return await fetchWithRetries(url, {
      ...opts,
      maxBytes: askedFor,
      eachAttempt: () => {
        if (budget.left() === 0) throw new HttpError('too-large', `${url}: nothing left of the budget for another attempt`);
        askedFor = Math.min(cap, budget.left());
        return { ...opts.eachAttempt?.(), maxBytes: askedFor };
      },
      onAnswer: (res) => { budget.take(res.body.length, url); opts.onAnswer?.(res); },
    });
  } catch (e) {
    if (askedFor < cap && e instanceof HttpError && e.kind === 'too-large') throw budget.over(url);
    throw e;
  }
}

/**
 * The one document at `url`, within the budget: it must be answered 200 and be
 * a mapping (JSON object, or YAML mapping). Throws the HttpError when no
 * attempt got an answer (the caller decides what a missing service means),
 * an Error naming the URL for anything else.
 */
export async function oneDocument(budget: ReadBudget, url: string, opts: FetchOptions, format: 'json' | 'yaml' = 'json'): Promise<{ doc: Record<string, unknown>; body: Uint8Array }> {
  const res = await fetchWithin(budget, url, opts);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  let doc: unknown;
  try { doc = format === 'json' ? JSON.parse(asText(res.body)) : parseYaml(asText(res.body)); } catch (e) {
    throw new Error(`${url}: not ${format === 'json' ? 'JSON' : 'YAML'} (${(e as Error).message})`);
  }
  if (!isMapping(doc)) throw new Error(`${url}: expected a ${format === 'json' ? 'JSON object' : 'YAML mapping'}`);
  return { doc, body: res.body };
}

/**
 * fetchWithin() of something the boot can do without (user-data,
 * vendor-data): over the budget it is reported and read as absent (null).
 */
export async function optionalWithin(budget: ReadBudget, url: string, opts: FetchOptions, report: (message: string) => void): Promise<HttpResponse | null> {
  try { return await fetchWithin(budget, url, opts); } catch (e) {
    if (!(e instanceof OverBudget)) throw e;
    report(e.message);
    return null;
  }
}
