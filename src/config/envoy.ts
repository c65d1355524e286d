/**
 * Configuration of the Envoy face (`switchyard extproc`): how large an answer
 * may be before Switchyard stops asking Envoy to buffer it. Envoy buffers a
 * body for ext_proc (BUFFERED mode) in the HTTP stream's buffer, whose limit
 * is the *listener's* `per_connection_buffer_limit_bytes` (not the cluster's);
 * an answer above it becomes a 500 from Envoy. Switchyard therefore asks for
 * a BUFFERED answer only when its `content-length` is at most
 * `bufferedResponseMaxBytes`, which must not exceed the listener's limit.
 *
 * @example
 * ```yaml
 * envoy:
 *   listenerBufferLimitBytes: 8388608   # = the listener's per_connection_buffer_limit_bytes
 *   bufferedResponseMaxBytes: 4194304   # JSON answers up to 4 MiB are buffered and cached
 * ```
 */
import { z } from 'zod';

export const envoySchema = z
  .object({
    /** The Envoy listener's `per_connection_buffer_limit_bytes` (Envoy's own default is 1 MiB; envoy/envoy.yaml sets 8 MiB). */
    listenerBufferLimitBytes: z.number().int().positive().default(8 * 1024 * 1024),
    /** Largest answer (by content-length) Switchyard asks Envoy to buffer; larger or unknown-length answers pass through. */
    bufferedResponseMaxBytes: z.number().int().positive().default(4 * 1024 * 1024),
  })
  .strict()
  .refine((e) => e.bufferedResponseMaxBytes <= e.listenerBufferLimitBytes, {
    message: 'envoy.bufferedResponseMaxBytes must not exceed envoy.listenerBufferLimitBytes (Envoy answers 500 for a buffered body above the listener limit)',
    path: ['bufferedResponseMaxBytes'],
  });

export type EnvoyConfig = z.infer<typeof envoySchema>;
