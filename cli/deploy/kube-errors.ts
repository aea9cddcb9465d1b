/**
 * Errors of the Kubernetes API and kubectl as ClusterErrors, and which of them pass by
 * themselves (a webhook not serving yet, a CRD just created, the API server briefly away).
 */
import * as k8s from '@kubernetes/client-node';
import { ClusterError } from './steps.ts';

export const TRANSIENT =
  /failed calling webhook|connection refused|no endpoints available|i\/o timeout|TLS handshake timeout|the server is currently unable|context deadline exceeded|Internal error occurred|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|fetch failed|no matches for kind|ensure CRDs are installed first|Unrecognized API version and kind|Failed to fetch resource metadata|the object has been modified|is being deleted|unexpected EOF/i;

export function apiMessage(error: k8s.ApiException<unknown>): string {
  let body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // a plain-text body
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : typeof body === 'string' && body ? body : error.message.split('\n')[0]!;
}

export function toClusterError(what: string, error: unknown): ClusterError {
  if (error instanceof ClusterError) return error;
  if (error instanceof k8s.ApiException) {
    // Discovery of a group not served yet (its CRD is being installed) comes back as a 404 whose
    // body is a bare "404 page not found"; client-node says so in the error's message.
    const discovery = /Failed to fetch resource metadata/.test(error.message);
    const message = discovery ? `${error.message.split('\n')[0]!.replace(/: HTTP-Code: \d+$/, '')}: not served (yet)` : apiMessage(error);
    const retryable = discovery || error.code >= 500 || error.code === 429 || (error.code === 409 && /being deleted|modified/.test(message)) || TRANSIENT.test(message);
    return new ClusterError(`${what}: ${message} (HTTP ${error.code})`, retryable);
  }
  const message = error instanceof Error ? `${error.message}${(error as NodeJS.ErrnoException).code ? ` (${(error as NodeJS.ErrnoException).code})` : ''}` : String(error);
  return new ClusterError(`${what}: ${message}`, TRANSIENT.test(message));
}

export function isNotFound(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404 && !/resource metadata/.test(error.message);
}

export function isUnknownKind(error: unknown): boolean {
  return error instanceof Error && /Unrecognized API version and kind|Failed to fetch resource metadata/.test(error.message);
}
