-- What cross-region replication needs of the region's own tables: the statuses every region saw,
-- the HLC of idempotency records, the contradictions merges found, merchant configuration
-- documents (a CRDT the region edits and replication merges) and per-region usage counters.
-- Replication's bookkeeping tables are replication's own (replication/migrations).

-- Every status any region recorded for the payment (a grow-only set); two that cannot lead to
-- one another are a contradiction for the reconciler.
alter table payments add column seen_statuses text[] not null default '{}';
update payments set seen_statuses = array[status];

-- When (HLC) and where an idempotency record was first made: the earliest wins a conflict.
alter table idempotency_keys add column hlc text not null default '';

-- The contradictions replication's merges found: the region's duplicate compensator reads them.
create table replication_conflicts (
  kind text not null check (kind in ('payment_status', 'idempotency', 'ledger_entry')),
  subject text not null,
  detail jsonb not null,
  detected_at timestamptz not null default now(),
  primary key (kind, subject)
);

create table merchant_configs (
  merchant_id text primary key,
  -- An Automerge document (binary): webhook endpoints, limits, home region, failover order.
  doc bytea not null,
  -- Changes that arrived before the changes they depend on (from a third region), kept until
  -- their dependencies arrive.
  pending_changes text[] not null default '{}',
  updated_at timestamptz not null default now()
);

create table usage_counters (
  merchant_id text not null,
  day date not null,
  region text not null,
  count bigint not null,
  primary key (merchant_id, day, region)
);
