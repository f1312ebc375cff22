package raclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/raclient"
)

// The client against a stand-in for the RA that answers in the API's wire
// format (ra/raapi): a list comes back as Go values, and a refusal as an
// error that matches ra's sentinel by its code (errors.Is) and carries the
// HTTP status and the RA's sentence (APIError). A real caller uses
// NewClient with an officer's credential directory instead of
// NewClientHTTP.
func ExampleNewClientHTTP() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/parties":
			json.NewEncoder(w).Encode(raapi.PartyList{Parties: []raapi.Party{{Name: "Supplier A", Status: "active"}}})
		default:
			var body raapi.ErrorBody
			body.Error.Code = raerr.ErrOfficerInactive.Error()
			body.Error.Message = "officer aro-a is removed"
			w.WriteHeader(raapi.StatusOfCode(body.Error.Code))
			json.NewEncoder(w).Encode(body)
		}
	}))
	defer srv.Close()
	c, err := raclient.NewClientHTTP(srv.URL, srv.Client())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	parties, err := c.ListParties(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(parties[0].Name, parties[0].Status)

	_, err = c.Whoami(ctx)
	var ae *raclient.APIError
	if errors.Is(err, raerr.ErrOfficerInactive) && errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Code)
	}
	// Output:
	// Supplier A active
	// 403 E_RA_OFFICER_INACTIVE
}
