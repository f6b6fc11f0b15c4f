/**
 * Which addresses a webhook may reach. Deliveries are POSTs made from inside a region, so a URL
 * pointing into the region's own network would be server-side request forgery: loopback, private
 * ranges, link-local (the cloud metadata address), CGNAT, unique-local IPv6, IPv4-mapped IPv6,
 * multicast, unspecified and broadcast are refused. Pure rules, no DNS: the region resolves names
 * and checks every resolved address with `forbiddenAddressReason` before it connects.
 */

/** Host names that are the cloud metadata service whatever they resolve to. */
const forbiddenNames = ['metadata.google.internal', 'metadata', 'instance-data']

export type AddressVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

function parseIpv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return undefined
  const octets = m.slice(1).map(Number)
  return octets.every((o) => o <= 255) ? octets : undefined
}

/** Eight 16-bit groups, or undefined when `text` is not an IPv6 literal. */
function parseIpv6(text: string): number[] | undefined {
  let s = text.toLowerCase()
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  if (!s.includes(':')) return undefined
  // A trailing dotted quad (::ffff:127.0.0.1) is two groups.
  const lastColon = s.lastIndexOf(':')
  const tail = s.slice(lastColon + 1)
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail)
    if (!v4) return undefined
    s = `${s.slice(0, lastColon + 1)}${((v4[0] ?? 0) * 256 + (v4[1] ?? 0)).toString(16)}:${((v4[2] ?? 0) * 256 + (v4[3] ?? 0)).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const group = (p: string) => (p === '' ? [] : p.split(':'))
  const head = group(halves[0] ?? '')
  const rest = halves.length === 2 ? group(halves[1] ?? '') : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  return all.map((g) => Number.parseInt(g, 16))
}

function ipv4Reason(o: readonly number[]): string | undefined {
  const [a = 0, b = 0, c = 0, d = 0] = o
  if (a === 169 && b === 254 && c === 169 && d === 254) return 'the cloud metadata address'
  if (a === 0) return 'an unspecified or "this network" address (0.0.0.0/8)'
  if (a === 127) return 'a loopback address (127.0.0.0/8)'
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
    return 'a private address (RFC 1918)'
  if (a === 169 && b === 254) return 'a link-local address (169.254.0.0/16)'
  if (a === 100 && b >= 64 && b <= 127) return 'a carrier-grade NAT address (100.64.0.0/10)'
  if (a === 192 && b === 0 && c === 0) return 'an IETF protocol assignment (192.0.0.0/24)'
  if (a === 198 && (b === 18 || b === 19)) return 'a benchmarking address (198.18.0.0/15)'
  if (a >= 224 && a <= 239) return 'a multicast address (224.0.0.0/4)'
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'the broadcast address'
  if (a >= 240) return 'a reserved address (240.0.0.0/4)'
  return undefined
}

function ipv6Reason(g: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g
  const first5Zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (first5Zero && g5 === 0 && g6 === 0 && g7 === 0) return 'the unspecified address (::)'
  if (first5Zero && g5 === 0 && g6 === 0 && g7 === 1) return 'the IPv6 loopback address (::1)'
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms reach the IPv4 address.
  if (first5Zero && (g5 === 0xffff || g5 === 0)) {
    const inner = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]
    const reason = ipv4Reason(inner)
    return reason ? `an IPv4-mapped IPv6 address of ${reason}` : 'an IPv4-mapped IPv6 address'
  }
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed IPv4 addresses too.
  if (g0 === 0x64 && g1 === 0xff9b) return 'a NAT64 address (64:ff9b::/96)'
  if (g0 === 0x2002) return 'a 6to4 address (2002::/16)'
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g7 === 0x254 && g2 === 0 && g3 === 0)
    return 'the cloud metadata address (fd00:ec2::254)'
  if ((g0 & 0xfe00) === 0xfc00) return 'a unique-local address (fc00::/7)'
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address (fe80::/10)'
  if ((g0 & 0xffc0) === 0xfec0) return 'a site-local address (fec0::/10)'
  if ((g0 & 0xff00) === 0xff00) return 'a multicast address (ff00::/8)'
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return 'a discard-only address (100::/64)'
  if (g0 === 0x2001 && g1 === 0xdb8) return 'a documentation address (2001:db8::/32)'
  return undefined
}

/** True when `address` is a loopback address (127/8, ::1, ::ffff:127.x): the local opt-in. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = parseIpv4(address)
  if (v4) return v4[0] === 127
  const v6 = parseIpv6(address)
  if (!v6) return false
  const zeros5 = v6.slice(0, 5).every((x) => x === 0)
  if (zeros5 && v6[5] === 0 && v6[6] === 0 && v6[7] === 1) return true
  return zeros5 && v6[5] === 0xffff && (v6[6] ?? 0) >> 8 === 127
}

/** Whether a resolved IP address (v4 or v6 literal, no brackets) may be connected to. */
export function checkAddress(address: string, allowLoopback = false): AddressVerdict {
  if (allowLoopback && isLoopbackAddress(address)) return { ok: true }
  const v4 = parseIpv4(address)
  if (v4) {
    const reason = ipv4Reason(v4)
    return reason ? { ok: false, reason } : { ok: true }
  }
  const v6 = parseIpv6(address)
  if (v6) {
    const reason = ipv6Reason(v6)
    return reason ? { ok: false, reason } : { ok: true }
  }
  return { ok: false, reason: 'not an IP address' }
}

export interface WebhookUrlPolicy {
  /** Live-mode endpoints must use https. */
  readonly requireHttps: boolean
  /** Local development only: loopback hosts (localhost, 127/8, ::1) are allowed. */
  readonly allowLoopback: boolean
}

/**
 * The checks that need no DNS: scheme, userinfo, and a host that is an address literal (in any
 * spelling the WHATWG parser accepts: decimal, octal, hex, bracketed IPv6) or a forbidden name.
 * `host` is returned without brackets or trailing dot, for the resolver.
 */
export function checkWebhookUrl(
  raw: string,
  policy: WebhookUrlPolicy,
): { ok: true; host: string; literal: boolean } | { ok: false; reason: string } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'url is not a valid URL' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, reason: 'url must be an http(s) URL' }
  if (policy.requireHttps && url.protocol !== 'https:')
    return { ok: false, reason: 'url must use https in live mode' }
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'url must not carry a user name or password' }
  // The WHATWG parser already turned 2130706433, 0x7f.1 and 017700000001 into 127.0.0.1.
  let host = url.hostname.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  while (host.endsWith('.')) host = host.slice(0, -1)
  if (host === '') return { ok: false, reason: 'url must name a host' }
  const literal = parseIpv4(host) !== undefined || parseIpv6(host) !== undefined
  if (literal) {
    const verdict = checkAddress(host, policy.allowLoopback)
    if (!verdict.ok) return { ok: false, reason: `url points to ${verdict.reason}` }
    return { ok: true, host, literal }
  }
  if (forbiddenNames.some((n) => host === n || host.endsWith(`.${n}`)))
    return { ok: false, reason: 'url points to the cloud metadata service' }
  const loopbackName = host === 'localhost' || host.endsWith('.localhost')
  if (loopbackName && !policy.allowLoopback)
    return { ok: false, reason: 'url points to a loopback address (localhost)' }
  if (host.endsWith('.internal') || host.endsWith('.local'))
    return { ok: false, reason: 'url points to an internal host name' }
  return { ok: true, host, literal }
}
