// Package registry owns the data the verifier's command-path checks read
// besides users and certificates: the device registry (devices.csv
// imports, ImportDevices), the ADT files party officers sign and submit
// (SubmitADT) and the SC role's SRV allow-list (SetAllowList), with the
// reads of each.
//
// Every change is an audited decision of ra: ra binds a Session to the
// authenticated officer, each call runs in one of its transactions with
// its audit record, and who may make it is ra/authz's table. It parses
// files with ra/adtfile and ra/devicefile, never authenticates anyone,
// knows no transport, and must not import ra; ra.Service keeps the entry
// points.
package registry
