-- Each merchant's placement as this region knows it (issue 20): runtime data the control plane
-- writes and replication merges as a join (higher epoch wins). Writes are admitted by it inside
-- their own transaction (core admitWrite): residency, the epoch being left by a planned move
-- (fenced_epoch) and the newest epoch known. A merchant with no row is admitted.
create table merchant_placements (
  merchant_id text primary key,
  home text not null,
  failover text[] not null,
  residency text not null check (residency in ('global', 'us', 'eu', 'in')),
  epoch integer not null check (epoch > 0),
  -- Write-once (joinPlacements keeps the first): the one region that authorizes unasked.
  processing_home text not null,
  -- Writes routed by this epoch or older are refused: a planned move is leaving it.
  fenced_epoch integer not null default 0,
  -- The event id of the marker this region wrote for its latest fence (null until written).
  fence_marker text,
  updated_at timestamptz not null default now()
);
