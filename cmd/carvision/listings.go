package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"carvision/engine"
	"carvision/engine/serve"
)

// decodeListings reads one listing object or an array of them with the API's
// own strict decoder, so the CLI and /predict accept exactly the same input.
func decodeListings(raw []byte) ([]engine.Listing, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false, fmt.Errorf("no listing given (pass JSON or - for stdin)")
	}
	opt := serve.DefaultDecodeOptions(time.Now())
	if raw[0] != '[' {
		d, err := serve.DecodeListing(raw, opt)
		if err != nil {
			return nil, false, err
		}
		if len(d.Errors) > 0 {
			return nil, false, fieldErrors("listing", d.Errors)
		}
		return []engine.Listing{d.Listing}, false, nil
	}
	items, _, top, err := serve.DecodeBatch(raw, opt, 1<<20)
	if err != nil {
		return nil, true, err
	}
	if len(top) > 0 {
		return nil, true, fieldErrors("listings", top)
	}
	out := make([]engine.Listing, 0, len(items))
	for i, d := range items {
		if len(d.Errors) > 0 {
			return nil, true, fieldErrors(fmt.Sprintf("listing %d", i), d.Errors)
		}
		out = append(out, d.Listing)
	}
	return out, true, nil
}

func fieldErrors(what string, errs []serve.FieldError) error {
	var parts []string
	for _, e := range errs {
		parts = append(parts, fmt.Sprintf("%s: %s", e.Field(), e.Msg))
	}
	return fmt.Errorf("%s: %s", what, strings.Join(parts, "; "))
}
