package raclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// DeclareSoLR: POST /v1/solr-events (state "declared", with the dry run).
func (c *Client) DeclareSoLR(ctx context.Context, req raapi.DeclareRequest) (raapi.EventResult, error) {
	var out raapi.EventResult
	return out, c.do(ctx, http.MethodPost, "/v1/solr-events", declareBodyOf(req), &out)
}

// ListSoLR: GET /v1/solr-events.
func (c *Client) ListSoLR(ctx context.Context) ([]raapi.SoLREvent, error) {
	var out raapi.EventList
	return out.Events, c.do(ctx, http.MethodGet, "/v1/solr-events", nil, &out)
}

// GetSoLR: GET /v1/solr-events/{id}.
func (c *Client) GetSoLR(ctx context.Context, id string) (raapi.EventResult, error) {
	var out raapi.EventResult
	return out, c.do(ctx, http.MethodGet, "/v1/solr-events/"+url.PathEscape(id), nil, &out)
}

// ApproveSoLR: POST /v1/solr-events/{id}/approve. certificatesSHA256 is
// the certificates_sha256 of the dry run the approver read (the approval
// is E_RA_DRY_RUN_CHANGED if the set changed since), or empty: the
// certificates as they stand.
func (c *Client) ApproveSoLR(ctx context.Context, id, certificatesSHA256 string) (raapi.EventResult, error) {
	var out raapi.EventResult
	return out, c.do(ctx, http.MethodPost, "/v1/solr-events/"+url.PathEscape(id)+"/approve",
		raapi.ApproveBody{CertificatesSHA256: certificatesSHA256}, &out)
}

// CloseSoLR: POST /v1/solr-events/{id}/close.
func (c *Client) CloseSoLR(ctx context.Context, id, reason string) (raapi.SoLREvent, error) {
	var out raapi.SoLREvent
	return out, c.do(ctx, http.MethodPost, "/v1/solr-events/"+url.PathEscape(id)+"/close", raapi.CloseBody{Reason: reason}, &out)
}

// SubmitADT: POST /v1/adt. sig is SignADT's signature over file, made with
// the key of the credential this client authenticates with.
func (c *Client) SubmitADT(ctx context.Context, file, sig []byte) (raapi.ADTRecord, error) {
	var out raapi.ADTRecord
	return out, c.do(ctx, http.MethodPost, "/v1/adt", raapi.AdtBody{File: file, Signature: sig}, &out)
}

// WithdrawADT: POST /v1/adt/{sc_user}/{supplier_user}/withdraw, the
// ADT file of (sc, supplier) taken out of force and kept on record.
func (c *Client) WithdrawADT(ctx context.Context, sc, supplier eui64.ID, reason string) (raapi.ADTRecord, error) {
	var out raapi.ADTRecord
	return out, c.do(ctx, http.MethodPost, "/v1/adt/"+sc.String()+"/"+supplier.String()+"/withdraw", raapi.ADTWithdrawBody{Reason: reason}, &out)
}

// ListADT: GET /v1/adt.
func (c *Client) ListADT(ctx context.Context) ([]raapi.ADTRecord, error) {
	var out raapi.ADTList
	return out.ADT, c.do(ctx, http.MethodGet, "/v1/adt", nil, &out)
}

// ImportDevices: POST /v1/devices with a device file (docs/cli.md, "devices import").
func (c *Client) ImportDevices(ctx context.Context, csv []byte) (raapi.ImportResult, error) {
	var out raapi.ImportResult
	return out, c.send(ctx, http.MethodPost, "/v1/devices", raapi.MediaCSV, csv, &out)
}

// CheckDevices: POST /v1/devices?dry_run=true, what the import of csv
// would do; nothing is written.
func (c *Client) CheckDevices(ctx context.Context, csv []byte) (raapi.ImportResult, error) {
	var out raapi.ImportResult
	return out, c.send(ctx, http.MethodPost, "/v1/devices?dry_run=true", raapi.MediaCSV, csv, &out)
}

// ExportDevices: GET /v1/devices/export[?supplier=], the registry as a
// device file that ImportDevices takes unchanged.
func (c *Client) ExportDevices(ctx context.Context, supplier eui64.ID) ([]byte, error) {
	return c.getRawUpTo(ctx, "/v1/devices/export"+query("supplier", idOrEmpty(supplier)), devicefile.MaxSize)
}

// ListDevices: GET /v1/devices[?supplier=].
func (c *Client) ListDevices(ctx context.Context, supplier eui64.ID) ([]raapi.Device, error) {
	var out raapi.DeviceList
	return out.Devices, c.do(ctx, http.MethodGet, "/v1/devices"+query("supplier", idOrEmpty(supplier)), nil, &out)
}

// SetAllowList: PUT /v1/policy/allow-lists/{role}.
func (c *Client) SetAllowList(ctx context.Context, r role.UserRole, srvs []string) (raapi.RoleAllowList, error) {
	if srvs == nil {
		srvs = []string{}
	}
	var out raapi.RoleAllowList
	return out, c.do(ctx, http.MethodPut, "/v1/policy/allow-lists/"+url.PathEscape(string(r)), raapi.AllowListBody{SRVs: srvs}, &out)
}

// Policy: GET /v1/policy.
func (c *Client) Policy(ctx context.Context) ([]raapi.RoleAllowList, error) {
	var out raapi.AllowLists
	return out.AllowLists, c.do(ctx, http.MethodGet, "/v1/policy", nil, &out)
}

// Bundle: GET /v1/bundle, the signed envelope exactly as served (open it
// with bundle.Open against the SMKI root).
func (c *Client) Bundle(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/bundle", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, bundleAPIError(resp.StatusCode, data)
	}
	return bytes.Clone(data), nil
}

// bundleAPIError decodes an error body of a non-JSON endpoint.
func bundleAPIError(status int, data []byte) error {
	var eb raapi.ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		return &APIError{Status: status, Code: raerr.ErrInternal.Error(), Message: fmt.Sprintf("HTTP %d: %.200s", status, data)}
	}
	return &APIError{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
}

// RequestSignerRevocation: POST /v1/signer-revocations (an ra-operator's
// request to revoke one of the RA's own signer certificates).
func (c *Client) RequestSignerRevocation(ctx context.Context, serial string, reason int) (raapi.SignerRevocation, error) {
	var out raapi.SignerRevocation
	body := raapi.SignerRevocationBody{Serial: serial, Reason: json.RawMessage(strconv.Itoa(reason))}
	return out, c.do(ctx, http.MethodPost, "/v1/signer-revocations", body, &out)
}

// ListSignerRevocations: GET /v1/signer-revocations.
func (c *Client) ListSignerRevocations(ctx context.Context) ([]raapi.SignerRevocation, error) {
	var out raapi.SignerRevocationList
	return out.Requests, c.do(ctx, http.MethodGet, "/v1/signer-revocations", nil, &out)
}

// ApproveSignerRevocation: POST /v1/signer-revocations/{id}/approve.
func (c *Client) ApproveSignerRevocation(ctx context.Context, id string) (raapi.SignerRevocation, error) {
	var out raapi.SignerRevocation
	return out, c.do(ctx, http.MethodPost, "/v1/signer-revocations/"+url.PathEscape(id)+"/approve", nil, &out)
}
