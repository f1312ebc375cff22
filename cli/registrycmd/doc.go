// Package registrycmd holds the verbs of the RA's registers, as its
// operators and party officers keep them: smki party, user, devices and
// policy. Each verb is its flags plus one verb.Call; what may be
// registered is the RA's decision.
package registrycmd
