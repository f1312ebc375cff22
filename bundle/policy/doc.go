// Package policy owns smki's default Service Request eligibility: for every
// DUIS Service Reference Variant (SRV), its name, whether it is Critical,
// and which User Roles may send it. The default is data, not code: the
// embedded file default-eligibility.json, in the project's own format
// (docs/policy.md), generated once from DCC's DUIS eligibility matrix and
// extended with the project-defined SoLR Contingency role, whose allow-list
// is exactly SR 1.6 "Update Payment Mode" (MP134B R1, R3).
//
// It is part of the RA<->verifier contract (package bundle): a role with no
// allow-list in the signed bundle falls back to this matrix on both sides,
// and the RA validates the lists it signs against it.
//
// An Eligibility is immutable: WithAllowList returns a changed copy, which
// is how an operator narrows or widens a role's list (R3) without editing
// code. The RA puts the lists it decides on into the signed policy bundle;
// the verifier asks Allowed.
//
// It decides only "may this role send this SRV at all". Whether an SC user
// may send it now, to this device (SoLR event, ADT scope), and whether the
// content is allowed (R5) are decided in package verifier.
package policy
