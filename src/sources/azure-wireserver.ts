// Azure's wireserver, for the one thing the platform waits for: the health
// report that ends provisioning (cloud-init's GoalState and
// GoalStateHealthReporter).
//
//   GET  http://<wireserver>/machine/?comp=goalstate   → Incarnation, ContainerId, RoleInstance/InstanceId
//   POST http://<wireserver>/machine?comp=health       ← <Health>: the three ids and State Ready,
//        or NotReady with SubStatus ProvisioningFailed and a Description (at most 512 characters)
//
// Both carry x-ms-agent-name: WALinuxAgent and x-ms-version: 2012-11-30
// (the protocol version and agent name cloud-init sends). No certificate is
// asked for: ec2-init never needs the goal state's Certificates (the ssh keys
// come from IMDS or ovf-env.xml's values), which is how cloud-init 25 reports
// when it needs none.
//
// Retries: an answer of 5xx, 404, 408, 410 or 429, a dropped connection or a
// timeout is asked again a second later (cloud-init's pause), until 20
// minutes have passed (cloud-init's limit: Azure gives up on the VM about
// then); each attempt 60 s at most. Refused or unreachable is not retried (as
// cloud-init stops on an unreachable network), nor is another 4xx: the same
// request would get the same answer.
import { asText } from '../bytes.ts';
import { now } from '../host/clock.ts';
import type { Logger } from '../log.ts';
import { fetchWithRetries } from '../net/fetch.ts';
import type { HttpResponse } from '../net/http.ts';
import { escapeXml, find, parseXml } from './azure-xml.ts';

export const DEFAULT_WIRESERVER = '168.63.129.16';
export const WIRESERVER_HEADERS = { 'x-ms-agent-name': 'WALinuxAgent', 'x-ms-version': '2012-11-30' };
export const REPORT_WAIT_MS = 20 * 60 * 1000;
const DESCRIPTION_MAX = 512;

export interface GoalState { incarnation: string; containerId: string; instanceId: string }

export type Health = { state: 'Ready' } | { state: 'NotReady'; description: string };

/** The three ids the health report needs, from the goal state XML; throws naming what is missing. */
export function parseGoalState(xml: string): GoalState {
  const root = parseXml(xml);
  const text = (...path: string[]): string => {
    const el = find(root, '', ...path);
    if (el === null || el.text.trim() === '') throw new Error(`the goal state has no ${path.join('/')}`);
    return el.text.trim();
  };
  return {
    incarnation: text('Incarnation'),
    containerId: text('Container', 'ContainerId'),
    instanceId: text('Container', 'RoleInstanceList', 'RoleInstance', 'InstanceId'),
  };
}

/** The health report document (cloud-init's HEALTH_REPORT_XML_TEMPLATE). */
export function healthReportXml(gs: GoalState, health: Health): string {
  const details = health.state === 'NotReady'
    ? `\n          <Details>\n            <SubStatus>ProvisioningFailed</SubStatus>\n            <Description>${escapeXml(health.description.slice(0, DESCRIPTION_MAX))}</Description>\n          </Details>`
    : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <GoalStateIncarnation>${escapeXml(gs.incarnation)}</GoalStateIncarnation>
  <Container>
    <ContainerId>${escapeXml(gs.containerId)}</ContainerId>
    <RoleInstanceList>
      <Role>
        <InstanceId>${escapeXml(gs.instanceId)}</InstanceId>
        <Health>
          <State>${health.state}</State>${details}
        </Health>
      </Role>
    </RoleInstanceList>
  </Container>
</Health>
`;
}

const retryable = (s: number): boolean => s >= 500 || s === 404 || s === 408 || s === 410 || s === 429;

/** `host` or `host:port` (validated where it is read) → the wireserver's base URL. */
export function wireserverUrl(endpoint: string): string {
  return `http://${endpoint}`;
}

/** Fetch the goal state and post the health report; returns the goal state it reported against. Throws on failure. */
export async function sendHealth(endpoint: string, health: Health, log: Logger, waitMs = REPORT_WAIT_MS): Promise<GoalState> {
  const base = wireserverUrl(endpoint);
  const deadline = now() + waitMs;
  const ask = async (url: string, init: { method?: string; body?: string; headers?: Record<string, string> }): Promise<HttpResponse> => {
    const res = await fetchWithRetries(url, {
      ...init,
      headers: { ...WIRESERVER_HEADERS, ...init.headers },
      timeoutMs: 60_000,
      deadline,
      retries: Number.MAX_SAFE_INTEGER, // until the deadline
      pause: { fixedMs: 1000 },
      retryStatus: retryable,
      maxBytes: 1024 * 1024,
      log,
      what: 'datasource Azure: wireserver',
    });
    if (res.status < 200 || res.status > 299) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status}`);
    return res;
  };
  const gsRes = await ask(`${base}/machine/?comp=goalstate`, {});
  let gs: GoalState;
  try { gs = parseGoalState(asText(gsRes.body)); } catch (e) {
    throw new Error(`the goal state from ${base} is not usable: ${(e as Error).message}`);
  }
  log.debug(`datasource Azure: goal state: container ${gs.containerId}, instance ${gs.instanceId}, incarnation ${gs.incarnation}`);
  await ask(`${base}/machine?comp=health`, {
    method: 'POST',
    body: healthReportXml(gs, health),
    headers: { 'Content-Type': 'text/xml; charset=utf-8' },
  });
  return gs;
}
