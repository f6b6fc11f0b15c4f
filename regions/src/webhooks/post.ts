import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkAddress, checkWebhookUrl } from '@meridian/core'

/** A delivery the SSRF policy refused; never sent. */
export class WebhookRefused extends Error {
  override readonly name = 'WebhookRefused'
}

/**
 * The name resolution deliveries connect through: resolve every address, refuse the connection if
 * any of them is forbidden, and hand the socket exactly the checked address. Checking and
 * connecting use the same answer, so a name re-pointed between a check and the connect (DNS
 * rebinding) cannot slip through.
 */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '', 0)
      const list = addresses as LookupAddress[]
      for (const a of list) {
        const verdict = checkAddress(a.address, allowLoopback)
        if (!verdict.ok) {
          return callback(
            new WebhookRefused(`refused: the host resolves to ${verdict.reason}`),
            '',
            0,
          )
        }
      }
      const first = list[0]
      if (!first) return callback(new WebhookRefused('refused: the host has no address'), '', 0)
      if (options.all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list)
      callback(null, first.address, first.family)
    })
  }
}

export interface PostOutcome {
  readonly status: number
}

/**
 * One POST, no redirects followed (a 3xx is the answer), through `guardedLookup`. Address
 * literals never reach a lookup, so they are checked here first, in every spelling.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { readonly allowLoopback: boolean; readonly timeoutMs: number },
): Promise<PostOutcome> {
  const verdict = checkWebhookUrl(url, {
    requireHttps: false,
    allowLoopback: options.allowLoopback,
  })
  if (!verdict.ok) return Promise.reject(new WebhookRefused(`refused: ${verdict.reason}`))
  const target = new URL(url)
  const lib = target.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.allowLoopback),
        timeout: options.timeoutMs,
        // A fresh connection per delivery: a pooled socket would skip the address check.
        agent: false,
      },
      (res) => {
        res.resume()
        resolve({ status: res.statusCode ?? 0 })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}
