// Package solrcmd holds the verbs of the SoLR contingency: smki solr
// (declare an Authority instruction, approve it four-eyes, show, list,
// close) and smki adt (sign and submit an SC user's Anomaly Detection
// Threshold file, list them). It owns their flags and output, the dry
// run's summary among it; the states and rules are the RA's.
package solrcmd
