// Package gbcs reads GBCS (Great Britain Companion Specification) messages
// far enough to know what they are: the frame (MAC header and General
// Signing header), the CRA flag, originator and recipient, the Message Code
// and hence the use case, and, for SR 1.6, whether a signed command changes
// the payment mode to Credit.
//
// The verifier needs this because, for SMETS2+ meters, the Critical Command
// a SoLR Contingency user sends (DUIS Command Variant 5-7, SignedPreCommand)
// is GBCS, not XML: the XML signature says who sent it, only the GBCS says
// what it does. ToCredit is the R5 content check for those commands.
//
// It owns parsing and classification only. It does not verify the GBCS
// ECDSA signature (Header.SignedData and Header.Signature give the caller
// what to verify), check the MAC (the key is the device's), decrypt anything,
// or decide who may send what (package verifier and bundle/policy do).
//
// All input is treated as hostile: every length is checked against the bytes
// that remain, nothing is allocated in proportion to a length field, and
// every failure is ErrMalformed (or another sentinel below) wrapped with the
// offset, never a panic.
//
// Frames read (GBCS section 7, as used by DCC's RTDS test vectors):
//
//	MAC header (commands sent by the DCC to a device):
//	  DD 00 00 00 00 00 00            general-ciphering tag, six empty fields
//	  <len>                           DLMS/BER length of what follows
//	  <SC:1> <IC:4>                   security header
//	  <General Signing frame>
//	  <MAC:12>
//	General Signing (the Grouping Header):
//	  DF 09 <CRA:1> <counter:8>       transaction-id: CRA flag + originator counter
//	  08 <originator:8> 08 <recipient:8>
//	  00 | 0C <DLMS date-time:12>
//	  <len> <message code:2> [supplementary remote party data]
//	  <len> <content>
//	  [ 00 | 40 <ECDSA r||s:64> ]     absent only in a Pre-Command
package gbcs
