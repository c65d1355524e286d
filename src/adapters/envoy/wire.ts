/**
 * TypeScript shapes of the ext_proc messages: as `@grpc/proto-loader` decodes
 * and encodes them with {@link LOADER_OPTIONS} (snake_case, enum names,
 * oneof discriminator fields, bytes as Buffer) — what the tests' Envoy
 * stand-in sees — and as `codec.ts` reads and writes them on the server
 * (protobufjs messages of the same shape; unset fields read as null).
 * Only the fields Switchyard reads or writes; the schema itself comes from
 * Envoy's .proto files.
 */

/** `envoy.config.core.v3.HeaderValue`: Envoy sends the value in `raw_value` (bytes) or `value`. */
export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Buffer | Uint8Array;
}

/** `envoy.config.core.v3.HeaderMap`. */
export interface HeaderMap {
  headers?: HeaderValue[];
}

/** `envoy.config.core.v3.HeaderValueOption`. */
export interface HeaderValueOption {
  header: HeaderValue;
  append_action?: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
}

/** `envoy.service.ext_proc.v3.HttpHeaders`. */
export interface HttpHeaders {
  headers?: HeaderMap;
  end_of_stream?: boolean;
}

/** `envoy.service.ext_proc.v3.HttpBody`. */
export interface HttpBody {
  body?: Buffer | Uint8Array;
  end_of_stream?: boolean;
}

/** `envoy.service.ext_proc.v3.HttpTrailers`. */
export interface HttpTrailers {
  trailers?: HeaderMap;
}

/** Which member of `ProcessingRequest.request` is set. */
export type RequestKind =
  | 'request_headers'
  | 'request_body'
  | 'request_trailers'
  | 'response_headers'
  | 'response_body'
  | 'response_trailers';

/** `envoy.service.ext_proc.v3.ProcessingRequest` (what Envoy sends). */
export interface ProcessingRequest {
  /** The oneof discriminator proto-loader adds. */
  request?: RequestKind;
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: HttpTrailers;
  response_trailers?: HttpTrailers;
}

/** `envoy.service.ext_proc.v3.HeaderMutation`. */
export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}

/** `envoy.service.ext_proc.v3.BodyMutation`. */
export interface BodyMutation {
  body?: Buffer;
  clear_body?: boolean;
}

/** `envoy.service.ext_proc.v3.CommonResponse`. */
export interface CommonResponse {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE';
  header_mutation?: HeaderMutation;
  body_mutation?: BodyMutation;
  clear_route_cache?: boolean;
}

/** `envoy.service.ext_proc.v3.ImmediateResponse`. */
export interface ImmediateResponse {
  /** `envoy.type.v3.HttpStatus`; the code is sent as a number (any HTTP status encodes). */
  status: { code: number | string };
  headers?: HeaderMutation;
  body?: Buffer;
  details?: string;
}

export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL';

/** `envoy.extensions.filters.http.ext_proc.v3.ProcessingMode`. */
export interface ProcessingMode {
  request_header_mode?: HeaderSendMode;
  response_header_mode?: HeaderSendMode;
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  request_trailer_mode?: HeaderSendMode;
  response_trailer_mode?: HeaderSendMode;
}

/** `envoy.service.ext_proc.v3.ProcessingResponse` (what Switchyard answers). */
export interface ProcessingResponse {
  request_headers?: { response?: CommonResponse };
  response_headers?: { response?: CommonResponse };
  request_body?: { response?: CommonResponse };
  response_body?: { response?: CommonResponse };
  request_trailers?: { header_mutation?: HeaderMutation };
  response_trailers?: { header_mutation?: HeaderMutation };
  immediate_response?: ImmediateResponse;
  mode_override?: ProcessingMode;
}
