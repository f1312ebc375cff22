-- Fewer writes per issuance. An issuance inserts an intent and then a
-- certificate; each insert's foreign key to serials ran a trigger query
-- per row and locked the serial's row FOR KEY SHARE (a WAL record and a
-- dirtied page per issuance), about a tenth of PostgreSQL's CPU per
-- issuance. The keys only repeated what every insert does first: each
-- statement that inserts an intent (CreateIntent, CreateIntents,
-- ImportIntent) or a certificate (PutCertificate) claims the serial in
-- serials in the same statement or transaction and writes nothing if it
-- cannot, a certificate recorded from its intent (RecordIssued) has the
-- intent's serial, and no serials row is ever deleted. The index on role
-- goes too: no query of the store's callers filters by role alone (a
-- listing by role still works, by the primary key). The check below
-- refuses the upgrade if some intent or certificate lacks its serial.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM intents i WHERE NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial = i.serial))
       OR EXISTS (SELECT 1 FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial = c.serial)) THEN
        RAISE EXCEPTION 'an intent or certificate has no row in serials; restore the database from a backup';
    END IF;
END $$;
ALTER TABLE intents DROP CONSTRAINT IF EXISTS intents_serial_fkey;
ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_serial_fkey;
DROP INDEX IF EXISTS certificates_role;
