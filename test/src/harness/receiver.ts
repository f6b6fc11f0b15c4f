import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifyWebhookSignature, type WebhookVerdict } from '@meridian/core'

export interface Delivery {
  readonly eventId: string
  // biome-ignore lint/suspicious/noExplicitAny: webhook bodies are checked by the tests that read them.
  readonly body: any
  readonly verdict: WebhookVerdict
  /** The Meridian-Signature header as sent (one `v1` per secret signing it). */
  readonly signature: string
  /** The body exactly as received (signatures are over these bytes). */
  readonly raw: string
}

/**
 * A merchant's webhook endpoint: verifies every delivery's signature with the endpoint secret and
 * answers with `status()` (200 by default; tests make it fail to exercise retries).
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = []
  secret = ''
  status: () => number = () => 200
  /** Extra headers on every answer (a `Location` makes a redirect). */
  headers: Record<string, string> = {}
  /** Every request that reached this receiver, whatever it answered. */
  hits = 0
  private server: Server | undefined
  url = ''

  /** `listenHost` 0.0.0.0 makes the receiver reachable through addresses the region must refuse. */
  async start(listenHost = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => {
      this.hits++
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const status = this.status()
        void verifyWebhookSignature(
          this.secret,
          req.headers['meridian-signature'] as string | undefined,
          text,
        ).then((verdict) => {
          if (status >= 200 && status < 300) {
            this.deliveries.push({
              eventId: String(req.headers['meridian-event-id']),
              body: JSON.parse(text),
              verdict,
              signature: String(req.headers['meridian-signature']),
              raw: text,
            })
          }
          res.writeHead(status, this.headers).end()
        })
      })
    })
    await new Promise<void>((r) => this.server?.listen(0, listenHost, r))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`
    return this
  }

  of(type: string, objectId?: string): Delivery[] {
    return this.deliveries.filter(
      (d) => d.body.type === type && (objectId === undefined || d.body.data.object.id === objectId),
    )
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => {
      this.server?.closeAllConnections()
      this.server?.close(() => r())
    })
  }
}
