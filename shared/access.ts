/**
 * Whether the stores accept this process. A running app's clients (the Kafka producer or
 * admin, the Elasticsearch client) each check at start that they can connect, authenticate
 * and trust the server's certificate, and keep checking with back-off until they can.
 * Readiness stays false while a store rejects the credentials or the certificate, so Knative
 * routes nothing to a pod that could only answer 503; one log line says why. A store that is
 * only unreachable does not hold readiness back: events answer 503 then, and are retried.
 */
import pRetry from 'p-retry';

export interface AccessCheck {
  /** "Kafka", "Elasticsearch". */
  store: string;
  /** Connects and authenticates once; throws what the client threw. */
  attempt(): Promise<void>;
  /** The one-line explanation of a rejected credential or certificate; undefined for any other failure. */
  rejection(error: unknown): string | undefined;
}

interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

let collected: AccessCheck[] | undefined;

/** The checks the clients made while `build` ran register here (only process entries collect them). */
export function collectAccessChecks<T>(build: () => T): { value: T; checks: AccessCheck[] } {
  const checks: AccessCheck[] = [];
  collected = checks;
  try {
    return { value: build(), checks };
  } finally {
    collected = undefined;
  }
}

/** Called by a client factory; outside `collectAccessChecks` (tests building an app in-process) it does nothing. */
export function registerAccessCheck(check: AccessCheck): void {
  collected?.push(check);
}

type State = 'checking' | 'accepted' | 'rejected' | 'unreachable';

/** Starts every check in the background; the returned function says whether none is pending or rejected. */
export function watchAccess(checks: AccessCheck[], log: Log, signal: AbortSignal): () => boolean {
  const states = checks.map((): State => 'checking');
  checks.forEach((check, i) => {
    let said: string | undefined;
    const say = (state: State, message: string, level: keyof Log) => {
      states[i] = state;
      if (message !== said) log[level](message);
      said = message;
    };
    pRetry(() => check.attempt(), {
      retries: Infinity,
      minTimeout: 1000,
      maxTimeout: 30_000,
      signal,
      unref: true,
      onFailedAttempt({ error }) {
        const rejection = check.rejection(error);
        if (rejection) say('rejected', `${rejection}; not ready, retrying in the background`, 'error');
        else say('unreachable', `${check.store} unreachable (${error.message}); retrying in the background`, 'warn');
      },
    }).then(
      () => {
        states[i] = 'accepted';
        if (said !== undefined) log.info(`${check.store} accepts this client now`);
      },
      () => undefined, // aborted: the app is closing
    );
  });
  return () => states.every((s) => s === 'accepted' || s === 'unreachable');
}

/** The chain of causes of an error, the error first (kafkajs wraps the one that matters). */
export function causesOf(error: unknown): (Error & { code?: string })[] {
  const chain: (Error & { code?: string })[] = [];
  for (let e = error; e instanceof Error && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** Node's codes for a server certificate that no trusted CA signed. */
export const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
]);
