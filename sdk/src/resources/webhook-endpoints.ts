import { type RequestOptions, request, type Transport } from '../http.ts'
import type { WithResponse } from '../response.ts'
import type {
  WebhookEndpoint,
  WebhookEndpointCreateParams,
  WebhookEndpointList,
  WebhookReplay,
  WebhookReplayParams,
  WebhookRollSecretParams,
} from '../types.ts'

const at = (id: string, action: string) =>
  `/v1/webhook_endpoints/${encodeURIComponent(id)}${action}`

/** `/v1/webhook_endpoints`: where Meridian delivers events, and their signing secrets. */
export class WebhookEndpoints {
  constructor(private readonly transport: Transport) {}

  /** The answer carries the endpoint's signing `secret`, this once (and in replays of this call). */
  create(
    params: WebhookEndpointCreateParams,
    options?: RequestOptions,
  ): Promise<WithResponse<WebhookEndpoint>> {
    return request<WebhookEndpoint>(
      this.transport,
      { method: 'POST', path: '/v1/webhook_endpoints', body: params },
      options,
    )
  }

  /** Every endpoint of the merchant, in one page. */
  list(options?: RequestOptions): Promise<WithResponse<WebhookEndpointList>> {
    return request<WebhookEndpointList>(
      this.transport,
      { method: 'GET', path: '/v1/webhook_endpoints' },
      options,
    )
  }

  /** Deliver again what was dead-lettered (all of it, or one event with `event_id`). */
  replay(
    id: string,
    params: WebhookReplayParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<WebhookReplay>> {
    return request<WebhookReplay>(
      this.transport,
      { method: 'POST', path: at(id, '/replay'), body: params },
      options,
    )
  }

  /**
   * A new signing secret (in the answer, once); the old one keeps signing beside it for
   * `expires_in` seconds, so receivers can switch without refusing a delivery.
   */
  rollSecret(
    id: string,
    params: WebhookRollSecretParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<WebhookEndpoint>> {
    return request<WebhookEndpoint>(
      this.transport,
      { method: 'POST', path: at(id, '/roll_secret'), body: params },
      options,
    )
  }
}
