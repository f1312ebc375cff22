-- Never holds a row: an issuance whose counter update lost a race retries
-- after LOCK TABLE issuance_lock (see errIssuanceRace in open.go), which
-- queues the retrying issuers without taking a snapshot first.
CREATE TABLE issuance_lock (id int);
