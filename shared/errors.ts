/**
 * Every error a function answers with has a stable code and an HTTP status.
 * The status decides what the Knative dispatcher does next: 400 goes to the
 * dead-letter sink at once, 503 is retried with back-off (see README, "Answers").
 */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

export const ErrorCode = {
  notACloudEvent: 'BDP_ERR_NOT_A_CLOUDEVENT',
  invalidCloudEvent: 'BDP_ERR_INVALID_CLOUDEVENT',
  unknownType: 'BDP_ERR_UNKNOWN_TYPE',
  invalidData: 'BDP_ERR_INVALID_DATA',
  futureEvent: 'BDP_ERR_FUTURE_EVENT',
  overLimit: 'BDP_ERR_OVER_LIMIT',
  unsupportedMode: 'BDP_ERR_UNSUPPORTED_MODE',
  bodyTooLarge: 'BDP_ERR_BODY_TOO_LARGE',
  rejectedByStore: 'BDP_ERR_REJECTED_BY_STORE',
  downstreamUnavailable: 'BDP_ERR_DOWNSTREAM_UNAVAILABLE',
  internal: 'BDP_ERR_INTERNAL',
} as const;

/** The event is wrong: it will never succeed, so it must not be retried. */
export function badEvent(code: string, message: string, details?: unknown): PipelineError {
  return new PipelineError(code, 400, message, details);
}

/** Kafka or Elasticsearch is unreachable or overloaded: the sender should retry later. */
export function downstreamUnavailable(message: string, cause?: unknown): PipelineError {
  const reason = cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause);
  return new PipelineError(ErrorCode.downstreamUnavailable, 503, message, reason === undefined ? undefined : { reason }, {
    cause,
  });
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
