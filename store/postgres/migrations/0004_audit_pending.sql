-- Audit records are appended here, with no lock, and chained into audit
-- (seq, prev_hash, hash) by the sealer (seal.go): one transaction at a
-- time, holding the audit_head row lock, takes the committed rows in id
-- order, appends them to the chain and deletes them. Writers therefore
-- never wait for, or conflict with, each other over the audit log; the
-- chain follows each commit within the sealer's delay.
CREATE TABLE audit_pending (
    id      bigserial PRIMARY KEY,
    time    text NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    result  text NOT NULL,
    detail  text NOT NULL
);
