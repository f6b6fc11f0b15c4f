import { fleet } from './fleet.ts'
import { newPlacement, type Placement } from './placement.ts'

/**
 * The three merchants `pnpm start` onboards through the operator API, and the ones tests, drills
 * and simulators pay as. Sample data, not routing: the edge and the regions learn placements at
 * runtime, and `pnpm fleet merchant create` adds more.
 */
export const sampleMerchants: readonly Placement[] = [
  newPlacement(fleet, { merchantId: 'mer_acme', home: 'us-east', residency: 'global' }),
  newPlacement(fleet, { merchantId: 'mer_globex', home: 'eu-west', residency: 'global' }),
  newPlacement(fleet, { merchantId: 'mer_initech', home: 'ap-south', residency: 'global' }),
]

/** A sample merchant's placement; throws for a merchant that is not one. */
export function samplePlacement(merchantId: string): Placement {
  const found = sampleMerchants.find((m) => m.merchantId === merchantId)
  if (!found) throw new Error(`${merchantId} is not a sample merchant`)
  return found
}
