package query

import (
	"errors"
	"testing"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// FuzzDecodePageToken: any client string either decodes to a cursor that
// encodes back to the same token, or is refused as an InvalidArgument on
// page_token; it never panics.
func FuzzDecodePageToken(f *testing.F) {
	d := digestOf(&queryv1.ListObservationsRequest{TraceId: "t"}, nil)
	f.Add(encodePageToken(d, Cursor{TS: 42, ID: "obs", Tie: "t"}))
	f.Add(encodePageToken(d, Cursor{}))
	f.Add(encodePageToken(digestOf(&queryv1.ListScoresRequest{}, nil), Cursor{ID: "x"}))
	f.Add("")
	f.Add("AQ")
	f.Add("====")
	f.Add("AQAAAAAAAAAAAAAAAAAAAAD_____")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := decodePageToken(token, d)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "page_token" {
				t.Fatalf("error %v is not a page_token FieldError", err)
			}
			return
		}
		if token == "" {
			if c != nil {
				t.Fatal("empty token gave a cursor")
			}
			return
		}
		if again := encodePageToken(d, *c); again != token {
			t.Fatalf("token %q decodes to %+v which encodes to %q", token, c, again)
		}
	})
}
