-- One provider per (scope, vendor): a mixed fleet has a provider for each
-- vendor's phones in the same scope. Every provider before this was of the
-- one kind there was, whose name is its vendor's.
ALTER TABLE providers ADD COLUMN vendor TEXT NOT NULL DEFAULT '';
UPDATE providers SET vendor = kind;
DROP INDEX providers_scope;
CREATE UNIQUE INDEX providers_scope ON providers (COALESCE(tenant_id, ''), vendor);
