-- The issuance sequence: every certificate gets the next number when it is
-- recorded, so followers (the repository mirror, the OCSP cache) can ask
-- for "what was issued since N". Existing certificates are numbered in
-- (issued_at, serial) order; the counter carries on from there.
ALTER TABLE certificates ADD COLUMN issuance_seq bigint;
UPDATE certificates c SET issuance_seq = o.n
    FROM (SELECT serial, row_number() OVER (ORDER BY issued_at, serial) AS n FROM certificates) o
    WHERE c.serial = o.serial;
ALTER TABLE certificates ALTER COLUMN issuance_seq SET NOT NULL;
CREATE UNIQUE INDEX certificates_issuance ON certificates (issuance_seq);
CREATE INDEX certificates_role ON certificates (role, serial);
INSERT INTO counters (name, value) SELECT 'issuance', COALESCE(MAX(issuance_seq), 0) FROM certificates;
