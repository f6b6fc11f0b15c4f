import { bodyBytesMax, MeridianError } from '@meridian/core'

/**
 * What the edge refuses before any work for a merchant: methods the API has no route for (405,
 * with `Allow`), URLs longer than any the API needs (414), bodies over the API's limit (413,
 * from Content-Length before authentication, and again while reading a body sent without one).
 * The region enforces the body limit too; the edge's answer just comes sooner and costs no hop.
 */
export const allowedMethods = ['GET', 'HEAD', 'POST'] as const
/** The longest legitimate URL is a list with `starting_after`: far below this. */
export const urlCharsMax = 4096

export function checkRequestLine(request: Request): void {
  if (!(allowedMethods as readonly string[]).includes(request.method)) {
    throw new MeridianError({
      kind: 'method_not_allowed',
      code: 'method_not_allowed',
      message: `The API accepts ${allowedMethods.join(', ')}; not ${request.method}.`,
    })
  }
  if (request.url.length > urlCharsMax) {
    throw new MeridianError({
      kind: 'uri_too_long',
      code: 'url_too_long',
      message: `URLs are limited to ${urlCharsMax} characters.`,
    })
  }
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > bodyBytesMax) throw tooLarge()
}

function tooLarge(): MeridianError {
  return new MeridianError({
    kind: 'payload_too_large',
    code: 'body_too_large',
    message: `Request bodies are limited to ${bodyBytesMax} bytes.`,
  })
}

/** The body, read at most to the limit: a stream that goes past it is cut off and refused. */
export async function readBody(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let length = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.byteLength
    if (length > bodyBytesMax) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const out = new Uint8Array(length)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
