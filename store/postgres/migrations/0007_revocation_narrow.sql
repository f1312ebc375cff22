-- A revocation row holds only what the revocation adds: its number, the
-- serial, the reason and the time. The issuer, user and party it also
-- carried are the certificate's, copied from its row when it was revoked
-- (never changed since: certificate rows are not updated or deleted), and
-- are read joined to it. A party's 100,000 revocations then write about
-- half the bytes (heap and WAL), and they are written by COPY (one WAL
-- record per heap page, not one per row). The foreign key to certificates
-- goes too: every statement that inserts a revocation reads the
-- certificate's row under the revocation counter lock first and inserts
-- nothing if it is missing, and no certificate row is ever deleted, so
-- the per-row check (a trigger and a row lock on the certificate, which
-- also wrote WAL, per revocation) only repeated it. The check below
-- refuses the upgrade if some revocation disagrees with its certificate.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM revocations r LEFT JOIN certificates c ON c.serial = r.serial
               WHERE c.serial IS NULL OR c.issuer <> r.issuer OR c.user_id <> r.user_id OR c.party_id <> r.party_id) THEN
        RAISE EXCEPTION 'a revocation names a certificate that is missing or has another issuer, user or party; restore the database from a backup';
    END IF;
END $$;
ALTER TABLE revocations DROP CONSTRAINT IF EXISTS revocations_serial_fkey;
ALTER TABLE revocations DROP COLUMN issuer, DROP COLUMN user_id, DROP COLUMN party_id;
-- A CRL's DER is a list of serials and times that pglz barely shrinks:
-- stored uncompressed, a 100,000-entry ORL is not compressed on every
-- reissue.
ALTER TABLE crls ALTER COLUMN der SET STORAGE EXTERNAL;
