-- One index insertion fewer per issuance. certificates (key_hash, serial)
-- answered two questions that key_owners, written with every certificate
-- that has a key (PutCertificate, RecordIssued), answers too: whose key
-- it is (its one owner: no path certifies a key for a second user) and,
-- through certificates (user_id, serial), which of that user's
-- certificates hold it (CertificatesByKey; an intent's check against
-- other users' certificates). Its entries were the widest of any index
-- (a 64-character hash and a serial) at random places, so each issuance
-- dirtied a random leaf page of it (a full-page image in the WAL after
-- each checkpoint). The check below refuses the upgrade if a certificate
-- with a key is not its key owner's.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM certificates c WHERE c.key_hash <> ''
            AND NOT EXISTS (SELECT 1 FROM key_owners k WHERE k.key_hash = c.key_hash AND k.user_id = c.user_id)) THEN
        RAISE EXCEPTION 'a certificate''s key has no row in key_owners for its user; restore the database from a backup';
    END IF;
END $$;
DROP INDEX IF EXISTS certificates_key;
