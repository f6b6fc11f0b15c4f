-- Sends of a pending payment's authorization to its pinned processor, by anyone (a worker, the
-- reconciler, a second worker after a rebalance). An actor whose send was refused may move the
-- payment to the next processor only if nobody else has sent since: otherwise the other send may
-- have charged the card, and routing elsewhere would charge it twice. Local bookkeeping: not
-- replicated, not in the state digest.
alter table payments add column processor_attempts integer not null default 0;
