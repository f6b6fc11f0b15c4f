/**
 * When MERIDIAN_EXIT_WITH_PARENT names the parent's pid (the local topology and tests set it),
 * exit as soon as that parent is gone, so a killed test run or `pnpm start` leaves no process.
 * Deployed services do not set it; their supervisor owns their lifetime.
 */
export function exitWithParent(onParentGone: () => void = () => process.exit(0)): void {
  const parent = Number(process.env.MERIDIAN_EXIT_WITH_PARENT)
  if (!Number.isSafeInteger(parent) || parent <= 1) return
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0)
    } catch {
      clearInterval(timer)
      onParentGone()
    }
  }, 1000)
  timer.unref()
}
