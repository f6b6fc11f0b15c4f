import { describe, expect, it } from 'vitest'
import { jsonDepthMax, textError, textProblem } from './text.ts'

describe('storable text', () => {
  it.each([
    ['plain', 'order 42'],
    ['astral and combining', '💳 e\u0301 \u{10ffff}'],
    ['controls other than NUL', '\u0001\t\u007f'],
    ['a surrogate pair', '\ud83d\udcb3'],
  ])('accepts %s', (_, text) => {
    expect(textProblem(text)).toBeUndefined()
  })

  it.each([
    ['NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'x\ud800', /lone surrogate/],
    ['a lone low surrogate', '\udc00x', /lone surrogate/],
    ['two high surrogates', '\udbff\udbff', /lone surrogate/],
  ])('refuses %s', (_, text, why) => {
    expect(textProblem(text)).toMatch(why)
  })

  it('names the parameter: a nested value, a key, the body itself', () => {
    expect(textError({ metadata: { ok: 'x', bad: 'a\u0000' } })).toMatchObject({
      code: 'parameter_invalid',
      param: 'metadata.bad',
    })
    expect(textError({ metadata: { 'k\ud800': 'v' } })?.param).toBe('metadata')
    expect(textError({ 'x\u0000': 1 })?.message).toMatch(/parameter name/)
    expect(textError({ list: ['a', 'b\udfff'] })?.param).toBe('list.1')
    expect(textError({ fine: ['a', { b: 'c' }] })).toBeUndefined()
  })

  it(`refuses nesting beyond ${jsonDepthMax} levels without recursing into it`, () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(textError({ a: deep })?.message).toMatch(/nests deeper/)
    let ok: unknown = 'leaf'
    for (let i = 0; i < jsonDepthMax - 1; i++) ok = { k: ok }
    expect(textError(ok)).toBeUndefined()
  })
})
