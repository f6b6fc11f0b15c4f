import { describe, expect, it } from 'vitest'
import { checkAddress, checkWebhookUrl } from './webhook-addresses.ts'

const strict = { requireHttps: false, allowLoopback: false }

describe('checkAddress', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['10.1.2.3', /RFC 1918/],
    ['172.16.0.1', /RFC 1918/],
    ['172.31.255.255', /RFC 1918/],
    ['192.168.1.1', /RFC 1918/],
    ['169.254.169.254', /metadata/],
    ['169.254.1.1', /link-local/],
    ['100.64.0.1', /carrier-grade/],
    ['100.127.255.255', /carrier-grade/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['0:0:0:0:0:0:0:1', /loopback/],
    ['::ffff:127.0.0.1', /IPv4-mapped.*loopback/],
    ['::ffff:7f00:1', /IPv4-mapped.*loopback/],
    ['::ffff:a9fe:a9fe', /IPv4-mapped.*metadata/],
    ['::ffff:8.8.8.8', /IPv4-mapped/],
    ['fc00::1', /unique-local/],
    ['fd12:3456::1', /unique-local/],
    ['fd00:ec2::254', /metadata/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['ff02::1', /multicast/],
    ['not-an-ip', /not an IP/],
  ]
  it.each(refused)('refuses %s', (address, reason) => {
    const v = checkAddress(address)
    expect(v.ok).toBe(false)
    if (!v.ok) expect(v.reason).toMatch(reason)
  })

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111'])(
    'allows %s',
    (address) => {
      expect(checkAddress(address)).toEqual({ ok: true })
    },
  )

  it('allows loopback only when opted in, and nothing else with it', () => {
    expect(checkAddress('127.0.0.1', true)).toEqual({ ok: true })
    expect(checkAddress('::1', true)).toEqual({ ok: true })
    expect(checkAddress('::ffff:127.0.0.1', true)).toEqual({ ok: true })
    expect(checkAddress('10.0.0.1', true).ok).toBe(false)
    expect(checkAddress('169.254.169.254', true).ok).toBe(false)
  })
})

describe('checkWebhookUrl', () => {
  const refused: [string, RegExp][] = [
    ['http://127.0.0.1/hook', /loopback/],
    ['http://2130706433/', /loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://017700000001/', /loopback/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://127.1/', /loopback/],
    ['http://[::1]/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /IPv4-mapped/],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', /IPv4-mapped/],
    ['http://localhost/', /localhost/],
    ['http://localhost./', /localhost/],
    ['http://LOCALHOST:8080/', /localhost/],
    ['http://a.localhost/', /localhost/],
    ['http://169.254.169.254/latest/meta-data/', /metadata/],
    ['http://metadata.google.internal/computeMetadata/v1/', /metadata/],
    ['http://metadata.google.internal./', /metadata/],
    ['http://[fd00:ec2::254]/', /metadata/],
    ['http://10.0.0.1/', /RFC 1918/],
    ['http://192.168.0.1./', /RFC 1918/],
    ['http://100.64.1.1/', /carrier-grade/],
    ['http://[fe80::1]/', /link-local/],
    ['http://[fc00::1]/', /unique-local/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://0/', /unspecified/],
    ['http://[::]/', /unspecified/],
    ['http://224.0.0.1/', /multicast/],
    ['http://255.255.255.255/', /broadcast/],
    ['http://user:pw@example.com/', /user name/],
    ['http://example.com@127.0.0.1/', /user name/],
    ['ftp://example.com/', /http\(s\)/],
    ['not a url', /valid URL/],
  ]
  it.each(refused)('refuses %s', (url, reason) => {
    const v = checkWebhookUrl(url, strict)
    expect(v.ok).toBe(false)
    if (!v.ok) expect(v.reason).toMatch(reason)
  })

  it('requires https in live mode', () => {
    const v = checkWebhookUrl('http://example.com/', { requireHttps: true, allowLoopback: false })
    expect(v).toEqual({ ok: false, reason: 'url must use https in live mode' })
    expect(
      checkWebhookUrl('https://example.com/', { requireHttps: true, allowLoopback: false }).ok,
    ).toBe(true)
  })

  it('allows public hosts and, opted in, loopback', () => {
    expect(checkWebhookUrl('https://hooks.example.com./x', strict)).toEqual({
      ok: true,
      host: 'hooks.example.com',
      literal: false,
    })
    const local = { requireHttps: false, allowLoopback: true }
    expect(checkWebhookUrl('http://127.0.0.1:9000/', local).ok).toBe(true)
    expect(checkWebhookUrl('http://localhost:9000/', local).ok).toBe(true)
    expect(checkWebhookUrl('http://[::1]:9000/', local).ok).toBe(true)
    expect(checkWebhookUrl('http://169.254.169.254/', local).ok).toBe(false)
  })
})
