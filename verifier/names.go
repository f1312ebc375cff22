package verifier

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
)

// Distinguished names arrive as strings in two places (KeyInfo
// X509IssuerName, the bundle's revoked list), written by different tools:
// Go writes "CN=Z1,OU=07", Java "CN=Z1, OU=07", others in the other RDN
// order. dnKey reduces a name to a canonical key: attribute types upper
// case (dotted OIDs mapped to their short names), values trimmed, case
// folded, inner whitespace collapsed, attributes sorted. Ordering is
// ignored on purpose: the key only finds a certificate in the verifier's
// own repository together with its serial, and what is found is then
// chained and checked in full.

var shortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE", "2.5.4.5": "SERIALNUMBER",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

func normAttr(typ, val string) string {
	typ = strings.ToUpper(strings.TrimSpace(typ))
	typ = strings.TrimPrefix(typ, "OID.")
	if s, ok := shortNames[typ]; ok {
		typ = s
	}
	val = strings.Join(strings.Fields(strings.ToLower(val)), " ")
	return typ + "=" + val
}

// dnKeyFromString parses an RFC 4514 / RFC 2253 style string.
func dnKeyFromString(s string) (string, error) {
	var attrs []string
	var cur strings.Builder
	var typ string
	inValue := false
	flush := func() error {
		if !inValue {
			if strings.TrimSpace(cur.String()) == "" && typ == "" {
				return nil
			}
			return fmt.Errorf("attribute %q has no '='", cur.String())
		}
		attrs = append(attrs, normAttr(typ, cur.String()))
		cur.Reset()
		typ, inValue = "", false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			// \XX hex pair or an escaped special character.
			if i+1 < len(s) && isHex(s[i]) && isHex(s[i+1]) {
				b, _ := hex.DecodeString(s[i : i+2])
				cur.Write(b)
				i++
			} else {
				cur.WriteByte(s[i])
			}
		case c == '=' && !inValue:
			typ, inValue = cur.String(), true
			cur.Reset()
		case c == ',' || c == ';' || c == '+':
			if err := flush(); err != nil {
				return "", err
			}
		default:
			cur.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	if len(attrs) == 0 {
		return "", errors.New("empty name")
	}
	slices.Sort(attrs)
	return strings.Join(attrs, ","), nil
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// dnKeyFromName is dnKeyFromString for a parsed name (a certificate's
// Issuer or Subject), without going through a string form.
func dnKeyFromName(n pkix.Name) string {
	attrs := make([]string, 0, len(n.Names))
	for _, a := range n.Names {
		var val string
		switch v := a.Value.(type) {
		case string:
			val = v
		default:
			der, err := asn1.Marshal(v)
			if err != nil {
				continue
			}
			val = "#" + hex.EncodeToString(der)
		}
		attrs = append(attrs, normAttr(a.Type.String(), val))
	}
	slices.Sort(attrs)
	return strings.Join(attrs, ",")
}

var oidUniqueIdentifier = []byte{0x55, 0x04, 0x2d} // 2.5.4.45 x500UniqueIdentifier

// errNoUniqueID: the subject carries no (or more than one) EUI-64
// x500UniqueIdentifier.
var errNoUniqueID = errors.New("subject has no single 64-bit x500UniqueIdentifier")

// uniqueID returns the EUI-64 held in the subject's x500UniqueIdentifier
// (2.5.4.45, a BIT STRING of exactly 64 bits). It reads RawSubject itself
// because crypto/x509 keeps the attribute only as an opaque value.
func uniqueID(c *x509.Certificate) (eui64.ID, error) {
	in := cryptobyte.String(c.RawSubject)
	var rdns cryptobyte.String
	if !in.ReadASN1(&rdns, cbasn1.SEQUENCE) || !in.Empty() {
		return eui64.ID{}, errors.New("malformed subject")
	}
	var id eui64.ID
	found := 0
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, cbasn1.SET) {
			return eui64.ID{}, errors.New("malformed subject RDN")
		}
		for !set.Empty() {
			var atv, oid cryptobyte.String
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
				return eui64.ID{}, errors.New("malformed subject attribute")
			}
			if string(oid) != string(oidUniqueIdentifier) {
				continue
			}
			var bits asn1.BitString
			if !atv.ReadASN1BitString(&bits) || !atv.Empty() || bits.BitLength != 64 {
				return eui64.ID{}, errNoUniqueID
			}
			copy(id[:], bits.Bytes)
			found++
		}
	}
	if found != 1 {
		return eui64.ID{}, errNoUniqueID
	}
	return id, nil
}
