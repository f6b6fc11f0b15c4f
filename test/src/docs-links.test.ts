import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Every relative link in README.md and docs/*.md (drill reports excluded) points at a file that
 * exists, and a link with an anchor into a Markdown file (or `#anchor` alone, into its own file)
 * names a heading that is there, by GitHub's slug. External links (http, https, mailto) are not
 * fetched.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))

const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
]

/** GitHub's heading anchor: lowercase, punctuation gone (hyphens and underscores stay), spaces → hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The lines of a Markdown file, fenced code blocks blanked (they hold no headings or links). */
function outsideCode(markdown: string): string[] {
  const lines: string[] = []
  let fence: string | undefined
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined && marker !== undefined) {
      fence = marker
      lines.push('')
    } else if (fence !== undefined) {
      if (marker?.startsWith(fence)) fence = undefined // same character, at least as many
      lines.push('')
    } else {
      lines.push(line)
    }
  }
  return lines
}

/** The anchors a Markdown file's headings produce, numbered -1, -2… when repeated, as GitHub does. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const line of outsideCode(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

interface Link {
  line: number
  target: string
}

/** Inline links and images `[text](target "title")`, and reference definitions `[label]: target`. */
function links(markdown: string): Link[] {
  const found: Link[] = []
  outsideCode(markdown).forEach((line, index) => {
    // Inline code holds no links either.
    const text = line.replace(/(`+)(?:(?!\1).)+?\1/g, (code) => ' '.repeat(code.length))
    for (const match of text.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+)[^)]*\)/g)) {
      found.push({ line: index + 1, target: (match[1] ?? '').replace(/^<|>$/g, '') })
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(text)?.[1]
    if (definition !== undefined) {
      found.push({ line: index + 1, target: definition.replace(/^<|>$/g, '') })
    }
  })
  return found
}

/** Each broken link as `file:line → target (why)`. */
function brokenLinks(file: string): string[] {
  const path = join(root, file)
  const markdown = readFileSync(path, 'utf8')
  const broken: string[] = []
  for (const { line, target } of links(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto:, …
    const hash = target.indexOf('#')
    const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash))
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
    const resolved = pathPart === '' ? path : join(dirname(path), pathPart)
    const where = `${file}:${line} → ${target}`
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file: ${relative(root, resolved)})`)
    } else if (anchor !== undefined && resolved.endsWith('.md')) {
      if (!anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${where} (no heading in ${relative(root, resolved)} makes #${anchor})`)
      }
    }
  }
  return broken
}

describe('anchors', () => {
  it("are GitHub's slugs of the heading text", () => {
    expect(slug('Edge retry and health policy')).toBe('edge-retry-and-health-policy')
    expect(slug('cdktn, the fork of the archived cdktf')).toBe(
      'cdktn-the-fork-of-the-archived-cdktf',
    )
    expect(slug('The fast path: `pnpm bench:fastpath`')).toBe('the-fast-path-pnpm-benchfastpath')
    expect(slug('Infrastructure (Terraform CDK: cdktn)')).toBe('infrastructure-terraform-cdk-cdktn')
    expect(slug('Node 20 → 24, step-by-step')).toBe('node-20--24-step-by-step')
  })

  it('come from headings outside code blocks, numbered when repeated', () => {
    const markdown = '# Lag: `bench:x`\n\n```sh\n# not a heading\n```\n\n## Lag: `bench:x`\n'
    expect([...anchors(markdown)]).toEqual(['lag-benchx', 'lag-benchx-1'])
  })
})

describe('relative links in README.md and docs/*.md', () => {
  it('reads README.md and the docs', () => {
    expect(docs).toContain('README.md')
    expect(docs.length).toBeGreaterThan(2)
  })

  it.each(docs)('%s: every relative link resolves', (file) => {
    expect(brokenLinks(file)).toEqual([])
  })
})
