import { APIError } from './errors.ts'
import type { WithResponse } from './response.ts'

/** One page of a list, as the API answers it. */
export interface Page<T> {
  readonly object: 'list'
  readonly url: string
  readonly has_more: boolean
  readonly data: readonly T[]
}

/**
 * Every object of a list, page after page: `for await (const p of meridian.payments.list())`.
 * Each page is fetched when the one before is used up, with `starting_after` set to that page's
 * last id, until a page says `has_more: false`.
 */
export class Listing<T extends { readonly id: string }> implements AsyncIterable<T> {
  constructor(
    private readonly fetchPage: (
      startingAfter: string | undefined,
    ) => Promise<WithResponse<Page<T>>>,
    private readonly startingAfter: string | undefined,
  ) {}

  /** The first page only (its `has_more` says whether more follow). */
  firstPage(): Promise<WithResponse<Page<T>>> {
    return this.fetchPage(this.startingAfter)
  }

  /** Page after page. */
  async *pages(): AsyncGenerator<WithResponse<Page<T>>, void, undefined> {
    let cursor = this.startingAfter
    for (;;) {
      const page = await this.fetchPage(cursor)
      yield page
      if (!page.has_more) return
      const last = page.data.at(-1)
      // A page that says more follow but holds nothing would send the same cursor forever.
      if (last === undefined)
        throw new APIError({
          message: `${page.url} answered has_more with an empty page; stopping rather than looping.`,
          status: page.lastResponse.status,
          requestId: page.lastResponse.requestId,
        })
      cursor = last.id
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data
  }
}
