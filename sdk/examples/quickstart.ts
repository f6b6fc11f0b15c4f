/**
 * The quick start of sdk/README.md, line for line, against `pnpm start`:
 * `MERIDIAN_KEY=<a key it printed> pnpm sdk:quickstart`.
 */
import { Meridian } from '@meridian/sdk'

const meridian = new Meridian(process.env.MERIDIAN_KEY ?? '', { baseUrl: 'http://127.0.0.1:8787' })
const card = { currency: 'usd', payment_method: 'pm_card_visa' } as const
await meridian.payments.create({ amount: 1999, ...card })
for await (const p of meridian.payments.list({ limit: 10 })) console.log(p.id, p.amount, p.status)
