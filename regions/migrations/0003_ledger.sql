-- The double-entry ledger. Append-only: journal entries and postings are never updated or
-- deleted, and a deferred constraint trigger refuses, at commit, any entry whose postings do
-- not sum to zero in each currency. Balances are maintained per statement and can always be
-- recomputed from postings (pnpm ledger:check does).

create table journal_entries (
  -- Deterministic: `<payment or refund id>:<kind>`, so an operation can never post twice.
  id text primary key,
  payment_id text not null,
  merchant_id text not null,
  kind text not null check (kind in ('hold', 'capture', 'release', 'refund')),
  origin_region text not null,
  -- The transaction that wrote the entry: postings may only join it in that same transaction.
  tx_id bigint not null default txid_current(),
  created_at timestamptz not null default now()
);

create index journal_entries_payment on journal_entries (payment_id);

create table postings (
  id bigserial primary key,
  entry_id text not null references journal_entries (id),
  account text not null,
  amount bigint not null check (amount <> 0),
  currency char(3) not null
);

create index postings_entry on postings (entry_id);
create index postings_account on postings (account);

create table account_balances (
  account text not null,
  currency char(3) not null,
  -- For merchant accounts (`merchant:<id>:…`), the merchant: GET /v1/balance reads by it.
  merchant_id text,
  balance bigint not null,
  primary key (account, currency)
);

create index account_balances_merchant on account_balances (merchant_id) where merchant_id is not null;

create function ledger_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'the ledger is append-only: % on % refused', tg_op, tg_table_name
    using errcode = 'P0001';
end $$;

create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function ledger_refuse_change();
create trigger postings_append_only before update or delete on postings
  for each row execute function ledger_refuse_change();
create trigger journal_entries_no_truncate before truncate on journal_entries
  for each statement execute function ledger_refuse_change();
create trigger postings_no_truncate before truncate on postings
  for each statement execute function ledger_refuse_change();

-- At commit, once per entry: at least two postings, and a zero sum in every currency.
create function ledger_check_entry() returns trigger language plpgsql as $$
declare
  posting_count integer;
  bad record;
begin
  select count(*) into posting_count from postings where entry_id = new.id;
  if posting_count < 2 then
    raise exception 'journal entry % has % postings; at least two are needed', new.id, posting_count
      using errcode = 'P0002';
  end if;
  for bad in
    select currency, sum(amount) as total from postings where entry_id = new.id
    group by currency having sum(amount) <> 0
  loop
    raise exception 'journal entry % does not balance in %: off by %', new.id, bad.currency, bad.total
      using errcode = 'P0002';
  end loop;
  return null;
end $$;

create constraint trigger journal_entries_balanced after insert on journal_entries
  deferrable initially deferred for each row execute function ledger_check_entry();

-- A posting may only join an entry written by the same transaction: a committed entry is closed.
create function ledger_check_posting_tx() returns trigger language plpgsql as $$
begin
  if exists (select 1 from new_rows n join journal_entries e on e.id = n.entry_id
             where e.tx_id <> txid_current()) then
    raise exception 'postings may not be added to a journal entry committed earlier'
      using errcode = 'P0003';
  end if;
  return null;
end $$;

create trigger postings_same_transaction after insert on postings
  referencing new table as new_rows for each statement execute function ledger_check_posting_tx();

-- Balances move by the statement's postings, summed per account: one row update per account.
create function ledger_apply_balances() returns trigger language plpgsql as $$
begin
  insert into account_balances (account, currency, merchant_id, balance)
  select account, currency,
    case when account like 'merchant:%' then split_part(account, ':', 2) end, sum(amount)
  from new_rows group by account, currency
  order by account, currency
  on conflict (account, currency) do update set balance = account_balances.balance + excluded.balance;
  return null;
end $$;

create trigger postings_balances after insert on postings
  referencing new table as new_rows for each statement execute function ledger_apply_balances();
