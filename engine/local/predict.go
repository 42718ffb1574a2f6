package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"carvision/engine"
	"carvision/engine/demo"
)

// apiError is a non-2xx answer of the API, with FastAPI's detail items.
type apiError struct {
	Status int
	Detail []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	} `json:"detail"`
	Raw string
}

func (e *apiError) Error() string {
	if len(e.Detail) == 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, strings.TrimSpace(e.Raw))
	}
	var parts []string
	for _, d := range e.Detail {
		field := ""
		if len(d.Loc) > 0 {
			field = fmt.Sprint(d.Loc[len(d.Loc)-1]) + ": "
		}
		parts = append(parts, field+d.Msg)
	}
	return strings.Join(parts, "; ")
}

// PredictListing runs one listing through the HTTP handler in process:
// validated, logged, measured and monitored exactly like a client's request.
func (s *serving) predictListing(ctx context.Context, l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	url := "/predict"
	q := []string{}
	if opt.Explain {
		q = append(q, "explain=true")
	}
	if opt.Comparables > 0 {
		q = append(q, fmt.Sprintf("comparables=%d", opt.Comparables))
	}
	if len(q) > 0 {
		url += "?" + strings.Join(q, "&")
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(demo.Body(l))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "carvision-console")
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		ae := &apiError{Status: rec.Code, Raw: rec.Body.String()}
		_ = json.Unmarshal(rec.Body.Bytes(), ae)
		return engine.Prediction{}, ae
	}
	var p engine.Prediction
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		return p, fmt.Errorf("decode prediction: %w", err)
	}
	return p, nil
}
