package xmldsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"unsafe"
)

// The only algorithms the DUIS profile allows.
const (
	NamespaceDS  = "http://www.w3.org/2000/09/xmldsig#"
	AlgExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgECDSA256  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	AlgSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

// maxCertificates bounds X509Certificate elements in one KeyInfo.
const maxCertificates = 4

// IssuerSerial is the X509IssuerSerial of a KeyInfo: the issuer name as
// written (see IssuerName) and the serial number as
// written: non-empty decimal digits, at most 60, whitespace trimmed.
// Keeping the text lets a verifier look the certificate up by the exact
// bytes its own writer would produce, with no big.Int on the request path.
type IssuerSerial struct {
	IssuerName string
	Serial     string
}

// SerialNumber returns the serial as an integer.
func (is *IssuerSerial) SerialNumber() *big.Int {
	n, _ := new(big.Int).SetString(is.Serial, 10) // digits checked by Parse
	return n
}

// KeyInfo is what a signature says about its signer. Nothing in it is
// trusted: the verifier looks the certificate up by IssuerSerial in its own
// repository, or chains a Certificate to its own roots.
type KeyInfo struct {
	IssuerSerial *IssuerSerial
	Certificates [][]byte // DER, from X509Certificate, in document order
}

// Document is a parsed document whose signature has the profile's shape. It
// is immutable; Verify may be called concurrently.
type Document struct {
	ps        *parseState // pooled scratch, nil once released
	sc        *scanner
	sig       int32 // start token of ds:Signature
	signedInf int32 // start token of ds:SignedInfo
	excDigest bool  // Reference has the explicit exc-c14n transform
	// treeElems and treeAttrs size the Element tree Verify builds: the
	// document's elements and attributes outside ds:Signature.
	treeElems, treeAttrs int
	digest               [32]byte
	sigValue             [64]byte
	sigDER               [72]byte // sigValue as an ASN.1 ECDSA-Sig-Value, sigDERLen bytes
	sigDERLen            int
	keyInfo              KeyInfo
	issuer               IssuerSerial
	v                    validator
}

// KeyInfo returns the signer information the signature carries.
func (d *Document) KeyInfo() KeyInfo { return d.keyInfo }

func sigErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSignature}, args...)...)
}

// Parse scans data under lim (zero fields take DefaultLimits) and checks the
// signature's shape and algorithms. It checks limits and well-formedness of
// the whole document first (ErrMalformed), then the signature
// (ErrSignature): exactly one ds:Signature in the document, the last element
// child of the document element with only whitespace after it; inside it
// exactly SignedInfo, SignatureValue, KeyInfo in that order and nothing
// else (no Object, Manifest, KeyValue, Id attributes or extra elements);
// SignedInfo with CanonicalizationMethod exc-c14n, SignatureMethod
// ecdsa-sha256 and exactly one Reference URI="" with the transforms
// [enveloped-signature] or [enveloped-signature, exc-c14n], DigestMethod
// sha256 and a 32-byte DigestValue; SignatureValue exactly 64 bytes (raw
// r||s; DER is rejected); KeyInfo with one X509Data holding at most one
// X509IssuerSerial and at most four X509Certificate, at least one of them.
// The document element's own name is not checked (requests and responses
// differ); that is for the caller.
//
// The Document's scratch memory (tokens, canonical bytes, scanner) comes
// from a pool; Release hands it back.
//
// Parse reads data in place, without a copy: data must stay unchanged until
// d is released (or, without Release, until d is last used). Nothing Parse
// or Verify hands out refers to data: the element tree, KeyInfo's strings
// and certificates are copies, so the caller may reuse data after Release.
func Parse(data []byte, lim Limits) (*Document, error) {
	ps := parsePool.Get().(*parseState)
	if err := scanInto(&ps.sc, &ps.bufs, ps.toks, ps.out, data, lim, false, true); err != nil {
		ps.put()
		return nil, err
	}
	ps.toks, ps.out = ps.sc.toks, ps.sc.out // keep what grew
	ps.doc = Document{ps: ps}
	if err := checkSignature(&ps.sc, &ps.doc); err != nil {
		ps.put()
		return nil, err
	}
	return &ps.doc, nil
}

// parseState is the scratch of one Parse: the Document, its scanner and
// the scanner's buffers, in one pooled allocation.
type parseState struct {
	doc  Document
	sc   scanner
	bufs scanBufs
	toks []token
	out  []byte
}

var parsePool = sync.Pool{New: func() any { return new(parseState) }}

// Pooled buffers above these sizes are dropped, not kept: one huge
// document must not pin its memory in the pool.
const (
	maxPooledToks = 4096
	maxPooledOut  = 64 << 10
)

func (ps *parseState) put() {
	if cap(ps.toks) > maxPooledToks {
		ps.toks = nil
	}
	if cap(ps.out) > maxPooledOut {
		ps.out = nil
	}
	toks, out := ps.toks[:0], ps.out[:0]
	// Drop every reference into the last document (its string, names,
	// texts, certificates) so that the pool pins none of it.
	*ps = parseState{toks: toks, out: out}
	parsePool.Put(ps)
}

// Release hands d's scratch memory back for the next Parse. After it, d,
// its KeyInfo and the canonical bytes its Verify returned must not be used;
// the Element tree Verify returned, and every string and certificate DER
// taken from d, stay valid. Call it at most once, after every Verify of d
// has returned; not calling it is safe (the memory is then collected).
func (d *Document) Release() {
	if ps := d.ps; ps != nil {
		d.ps = nil
		ps.put()
	}
}

func checkSignature(sc *scanner, d *Document) error {
	toks := sc.toks
	// The scan counted the ds:Signature elements and noted the first one
	// that is a child of the document element (sigCut).
	switch {
	case sc.nSig > 1:
		return sigErr("more than one ds:Signature")
	case sc.nSig == 0:
		return sigErr("no ds:Signature")
	case sc.sigCut < 0:
		// The only ds:Signature is nested: its parent's end tag follows it
		// inside the document element.
		return sigErr("ds:Signature is not the last child of the document element")
	}
	sig := sc.sigCut
	// The root is token 0 and its end is the last token. The signature must
	// be a child of it (sigCut is), with nothing but whitespace after it.
	rootEnd := toks[0].end
	sigEnd := toks[sig].end
	for i := sigEnd + 1; i < rootEnd; i++ {
		if toks[i].kind != tText || !isXMLSpace(sc.textOf(&toks[i])) {
			return sigErr("ds:Signature is not the last child of the document element")
		}
	}

	d.sc, d.sig = sc, sig
	d.treeElems, d.treeAttrs = sc.nElems, len(sc.attrs)
	for i := sig; i <= sigEnd; i++ {
		if t := &toks[i]; t.kind == tStart {
			d.treeElems--
			d.treeAttrs -= int(t.attrHi - t.attrLo)
		}
	}
	v := &d.v
	v.sc = sc
	if err := v.noAttrs(sig); err != nil {
		return err
	}
	kids, err := v.children(sig, "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return err
	}
	d.signedInf = kids[0]
	if err := v.signedInfo(d, kids[0]); err != nil {
		return err
	}
	if err := v.noAttrs(kids[1]); err != nil {
		return err
	}
	var svBuf [96]byte
	sv, err := v.base64Leaf(kids[1], svBuf[:])
	if err != nil {
		return err
	}
	if len(sv) != 64 {
		if len(sv) > 0 && sv[0] == 0x30 {
			return sigErr("SignatureValue is DER (%d bytes); the profile requires raw r||s", len(sv))
		}
		return sigErr("SignatureValue is %d bytes, want 64 (raw r||s)", len(sv))
	}
	copy(d.sigValue[:], sv)
	d.sigDERLen = len(rawToDER(&d.sigDER, &d.sigValue))
	if err := v.keyInfo(d, kids[2]); err != nil {
		return err
	}
	return nil
}

// validator checks element shapes inside the signature. Child lists are
// carved out of buf, so checking a signature allocates nothing for them.
type validator struct {
	sc  *scanner
	buf [48]int32
	n   int
}

func (v *validator) name(i int32) string {
	return v.sc.qnameOf(&v.sc.toks[i])
}

// children returns the child elements of i, which must be exactly the ds
// elements named, in order, with only whitespace text between them.
func (v *validator) children(i int32, names ...string) ([]int32, error) {
	got, err := v.childList(i)
	if err != nil {
		return nil, err
	}
	if len(got) != len(names) {
		return nil, sigErr("%s has %d child elements, want %s", v.name(i), len(got), strings.Join(names, ", "))
	}
	for k, c := range got {
		if err := v.is(c, names[k]); err != nil {
			return nil, err
		}
	}
	return got, nil
}

func (v *validator) childList(i int32) ([]int32, error) {
	toks := v.sc.toks
	out := v.buf[v.n:v.n]
	for j := i + 1; j < toks[i].end; j++ {
		switch toks[j].kind {
		case tText:
			if !isXMLSpace(v.sc.textOf(&toks[j])) {
				return nil, sigErr("text inside %s", v.name(i))
			}
		case tStart:
			if v.n+len(out) == len(v.buf) {
				return nil, sigErr("too many elements inside %s", v.name(i))
			}
			out = append(out, j)
			j = toks[j].end
		}
	}
	v.n += len(out)
	return out, nil
}

func (v *validator) is(i int32, local string) error {
	if !v.sc.isDS(i, local) {
		return sigErr("unexpected element %s (want ds:%s)", v.name(i), local)
	}
	return nil
}

func (v *validator) noAttrs(i int32) error {
	t := &v.sc.toks[i]
	if t.attrHi != t.attrLo {
		return sigErr("unexpected attribute on %s", v.name(i))
	}
	return nil
}

// onlyAttr requires exactly one unqualified attribute named name and
// returns its value.
func (v *validator) onlyAttr(i int32, name string) (string, error) {
	t := &v.sc.toks[i]
	if t.attrHi-t.attrLo != 1 {
		return "", sigErr("%s must have exactly the attribute %s", v.name(i), name)
	}
	a := &v.sc.attrs[t.attrLo]
	if a.ref != 0 || v.sc.attrLocal(a) != name {
		return "", sigErr("unexpected attribute %s on %s", v.sc.attrLocal(a), v.name(i))
	}
	return v.sc.attrValue(a), nil
}

// algorithm checks an empty element with Algorithm=want.
func (v *validator) algorithm(i int32, want string) error {
	alg, err := v.onlyAttr(i, "Algorithm")
	if err != nil {
		return err
	}
	if alg != want {
		return sigErr("%s Algorithm %q not allowed (want %q)", v.name(i), alg, want)
	}
	if v.sc.toks[i].end != i+1 {
		return sigErr("%s must be empty", v.name(i))
	}
	return nil
}

// leafText returns the text of an element with no child elements.
func (v *validator) leafText(i int32) (string, error) {
	toks := v.sc.toks
	end := toks[i].end
	for j := i + 1; j < end; j++ {
		if toks[j].kind != tText {
			return "", sigErr("unexpected element inside %s", v.name(i))
		}
	}
	switch end - i - 1 {
	case 0:
		return "", nil
	case 1:
		return v.sc.textOf(&toks[i+1]), nil
	}
	var b strings.Builder
	for j := i + 1; j < end; j++ {
		b.WriteString(v.sc.textOf(&toks[j]))
	}
	return b.String(), nil
}

// base64Leaf decodes the element's text into dst when it fits, else into a
// new slice.
func (v *validator) base64Leaf(i int32, dst []byte) ([]byte, error) {
	s, err := v.leafText(i)
	if err != nil {
		return nil, err
	}
	b, err := decodeBase64(s, dst)
	if err != nil {
		return nil, sigErr("%s: %v", v.name(i), err)
	}
	return b, nil
}

var strictB64 = base64.StdEncoding.Strict()

// decodeBase64 decodes base64 with XML whitespace (including CR, which DCC
// writes as &#13;) allowed anywhere, and strict padding.
func decodeBase64(s string, dst []byte) ([]byte, error) {
	// Usually there is no whitespace to drop: decode s in place (read
	// only). cleanWords with lt 0x21 skips words without a byte <= ' ';
	// the input holds no other control characters (checkChars).
	i := cleanWords(s, 0x21, ' ', ' ', ' ', ' ')
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	var clean []byte
	if i == len(s) {
		clean = unsafe.Slice(unsafe.StringData(s), len(s))
	} else {
		var cbuf [160]byte
		clean = cbuf[:0]
		if len(s) > len(cbuf) {
			clean = make([]byte, 0, len(s))
		}
		for i := 0; i < len(s); i++ {
			if !isSpace(s[i]) {
				clean = append(clean, s[i])
			}
		}
	}
	out := dst
	if n := base64.StdEncoding.DecodedLen(len(clean)); n > len(dst) {
		out = make([]byte, n)
	}
	n, err := strictB64.Decode(out, clean)
	if err != nil {
		// base64's own text ("illegal base64 data at input byte 4") is the
		// library's; say it in ours.
		var at base64.CorruptInputError
		if errors.As(err, &at) {
			return nil, fmt.Errorf("not base64 (at byte %d)", int64(at))
		}
		return nil, errors.New("not base64")
	}
	return out[:n], nil
}

func (v *validator) signedInfo(d *Document, si int32) error {
	if err := v.noAttrs(si); err != nil {
		return err
	}
	kids, err := v.children(si, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if err != nil {
		return err
	}
	if err := v.algorithm(kids[0], AlgExcC14N); err != nil {
		return err
	}
	if err := v.algorithm(kids[1], AlgECDSA256); err != nil {
		return err
	}
	ref := kids[2]
	uri, err := v.onlyAttr(ref, "URI")
	if err != nil {
		return err
	}
	if uri != "" {
		return sigErr(`Reference URI %q (only URI="")`, uri)
	}
	rk, err := v.children(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return err
	}
	if err := v.noAttrs(rk[0]); err != nil {
		return err
	}
	tr, err := v.childList(rk[0])
	if err != nil {
		return err
	}
	if len(tr) < 1 || len(tr) > 2 {
		return sigErr("%d transforms (want enveloped-signature, optionally then exc-c14n)", len(tr))
	}
	if err := v.is(tr[0], "Transform"); err != nil {
		return err
	}
	if err := v.algorithm(tr[0], AlgEnveloped); err != nil {
		return err
	}
	if len(tr) == 2 {
		if err := v.is(tr[1], "Transform"); err != nil {
			return err
		}
		if err := v.algorithm(tr[1], AlgExcC14N); err != nil {
			return err
		}
		d.excDigest = true
	}
	if err := v.algorithm(rk[1], AlgSHA256); err != nil {
		return err
	}
	if err := v.noAttrs(rk[2]); err != nil {
		return err
	}
	var dvBuf [48]byte
	dv, err := v.base64Leaf(rk[2], dvBuf[:])
	if err != nil {
		return err
	}
	if len(dv) != 32 {
		return sigErr("DigestValue is %d bytes, want 32", len(dv))
	}
	copy(d.digest[:], dv)
	return nil
}

func (v *validator) keyInfo(d *Document, ki int32) error {
	if err := v.noAttrs(ki); err != nil {
		return err
	}
	xd, err := v.children(ki, "X509Data")
	if err != nil {
		return err
	}
	if err := v.noAttrs(xd[0]); err != nil {
		return err
	}
	items, err := v.childList(xd[0])
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return sigErr("empty X509Data")
	}
	for _, it := range items {
		if err := v.noAttrs(it); err != nil {
			return err
		}
		t := &v.sc.toks[it]
		if t.ref != v.sc.dsRef || v.sc.dsRef == 0 {
			return sigErr("unexpected element %s in X509Data", v.name(it))
		}
		switch v.sc.localOf(t) {
		case "X509IssuerSerial":
			if d.keyInfo.IssuerSerial != nil {
				return sigErr("more than one X509IssuerSerial")
			}
			if err := v.issuerSerial(it, &d.issuer); err != nil {
				return err
			}
			d.keyInfo.IssuerSerial = &d.issuer
		case "X509Certificate":
			if len(d.keyInfo.Certificates) == maxCertificates {
				return sigErr("more than %d X509Certificate", maxCertificates)
			}
			der, err := v.base64Leaf(it, nil)
			if err != nil {
				return err
			}
			if len(der) == 0 {
				return sigErr("empty X509Certificate")
			}
			d.keyInfo.Certificates = append(d.keyInfo.Certificates, der)
		default:
			return sigErr("unexpected element %s in X509Data", v.name(it))
		}
	}
	return nil
}

func (v *validator) issuerSerial(i int32, is *IssuerSerial) error {
	kids, err := v.children(i, "X509IssuerName", "X509SerialNumber")
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := v.noAttrs(k); err != nil {
			return err
		}
	}
	name, err := v.leafText(kids[0])
	if err != nil {
		return err
	}
	name = strings.Trim(name, " \t\n\r")
	if name == "" {
		return sigErr("empty X509IssuerName")
	}
	sn, err := v.leafText(kids[1])
	if err != nil {
		return err
	}
	sn = strings.Trim(sn, " \t\n\r")
	if sn == "" || len(sn) > 60 {
		return sigErr("bad X509SerialNumber")
	}
	for k := 0; k < len(sn); k++ {
		if sn[k] < '0' || sn[k] > '9' {
			return sigErr("X509SerialNumber %q is not a non-negative decimal", sn)
		}
	}
	// Both may be views of the caller's bytes (scanner.aliased): one copy
	// of the two, which outlives the Document. Both are non-empty, so the
	// concatenation is a new string.
	both := name + sn
	*is = IssuerSerial{IssuerName: both[:len(name)], Serial: both[len(name):]}
	return nil
}
