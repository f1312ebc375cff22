-- When each officer's access credential expires, so the RA can list who
-- must renew. Officers appointed before this migration have the zero time
-- (not recorded) until they next renew.
ALTER TABLE officers ADD COLUMN cert_not_after text NOT NULL DEFAULT '0001-01-01T00:00:00Z';
