import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { errors, newId, toHttpError } from '@meridian/core'

/**
 * Bytes Node's HTTP parser refuses (an unknown method, a broken request line, headers beyond
 * its limit) never reach the app; by default Node answers them with an empty 400. Answer with
 * the same error object as everything else, then close: the connection's framing is lost.
 */
export function answerMalformedHttp(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy()
      return
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const refused = errors.invalidRequest(
      'request_malformed',
      tooLarge
        ? 'The request headers are too large.'
        : `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`,
    )
    const http = toHttpError(refused, newId('request'))
    const body = JSON.stringify(http.body)
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  })
}
