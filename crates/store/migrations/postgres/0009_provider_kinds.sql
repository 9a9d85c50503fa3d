-- Provider kinds are the daemon's to know (`daemon::kinds`): the database
-- no longer limits them to 'snom'.
ALTER TABLE providers DROP CONSTRAINT providers_kind_check;
