/**
 * `pnpm sdk:generate [url]`: write sdk/src/generated/openapi.ts from the OpenAPI document. With a
 * URL (a running region's `/openapi.json`), from what that region serves; without, from core's
 * `buildOpenApi`, the very function every region serves its document from.
 */
import { writeFileSync } from 'node:fs'
import { buildOpenApi } from '@meridian/core'
import { generatedPath, generateTypes } from './openapi-types.ts'

const from = process.argv[2]
const document = from ? await (await fetch(from)).json() : buildOpenApi()
writeFileSync(generatedPath, await generateTypes(document))
process.stdout.write(`wrote ${generatedPath}\n`)
