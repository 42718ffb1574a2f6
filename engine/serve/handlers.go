package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"

	"carvision/engine"
)

func (s *Server) writeJSONValue(rs *reqState, status int, v any) {
	b, err := marshalLenient(v)
	if err != nil {
		s.log.Error("encode response", "request_id", rs.id, "error", err.Error())
		rs.errMsg = "encode response: " + err.Error()
		s.writeDetail(rs, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	s.write(rs, status, b)
}

func (s *Server) handleIndex(rs *reqState, _ *http.Request) {
	type ep struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Doc    string `json:"doc"`
	}
	out := struct {
		Service   string `json:"service"`
		Version   string `json:"version"`
		Endpoints []ep   `json:"endpoints"`
	}{Service: "carvision", Version: s.opt.Version}
	for _, rt := range routes {
		m := "GET"
		if rt.post {
			m = "POST"
		}
		out.Endpoints = append(out.Endpoints, ep{m, rt.path, rt.doc})
	}
	s.writeJSONValue(rs, http.StatusOK, out)
}

func (s *Server) handleHealth(rs *reqState, _ *http.Request) {
	h := s.Health()
	rs.modelVersion = h.ModelVersion
	status := http.StatusOK
	if h.Status != "healthy" {
		status = http.StatusServiceUnavailable
		rs.errMsg = h.Reason
	}
	s.writeJSONValue(rs, status, h)
}

func (s *Server) handleLivez(rs *reqState, _ *http.Request) {
	s.write(rs, http.StatusOK, []byte(`{"status":"alive"}`))
}

func (s *Server) handleReady(rs *reqState, _ *http.Request) {
	ok, reason, m := s.ready()
	out := struct {
		Status       string `json:"status"`
		Reason       string `json:"reason,omitempty"`
		ModelVersion string `json:"model_version,omitempty"`
	}{Status: "ready", Reason: reason}
	if m != nil {
		out.ModelVersion = m.Version()
		rs.modelVersion = out.ModelVersion
	}
	status := http.StatusOK
	if !ok {
		out.Status = "not ready"
		status = http.StatusServiceUnavailable
		rs.errMsg = reason
	}
	s.writeJSONValue(rs, status, out)
}

func (s *Server) handleModel(rs *reqState, _ *http.Request) {
	m := s.opt.Models.Current()
	if m == nil {
		s.writeDetail(rs, http.StatusServiceUnavailable, s.noModelReason())
		return
	}
	rs.modelVersion = m.Version()
	info := m.Info()
	if info.Version == "" {
		info.Version = rs.modelVersion
	}
	s.writeJSONValue(rs, http.StatusOK, info)
}

// metricsContentType is the text exposition format 0.0.4, which every
// Prometheus and promtool reads.
var metricsContentType = []string{string(expfmt.FmtText)}

// handleMetrics gathers and encodes the exposition itself, rather than
// handing off to promhttp, so the scrape goes through s.write and is logged
// and measured like any other request.
func (s *Server) handleMetrics(rs *reqState, _ *http.Request) {
	mfs, err := s.reg.Gather()
	if err != nil {
		// Gather still returns every family it could collect: serve those,
		// so one broken collector does not blank the dashboards.
		// A panicking collector's error carries its stack (up to 64 KiB):
		// keep the log line readable, every scrape would repeat it.
		msg := err.Error()
		if len(msg) > 2048 {
			msg = msg[:2048] + " …(truncated)"
		}
		s.log.Warn("metrics: families skipped", "error", msg)
	}
	buf := bytes.NewBuffer(rs.buf[:0])
	enc := expfmt.NewEncoder(buf, expfmt.FmtText)
	for _, mf := range mfs {
		n := buf.Len()
		if err := enc.Encode(mf); err != nil {
			buf.Truncate(n) // no half-written family
			s.log.Warn("metrics: family skipped", "family", mf.GetName(), "error", err.Error())
		}
	}
	rs.buf = buf.Bytes()
	rs.w.Header()["Content-Type"] = metricsContentType
	s.write(rs, http.StatusOK, rs.buf)
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readBody enforces JSON and the body limit; it answers 415/413/400 itself
// and returns ok=false then. The returned buffer goes back with putBody.
func (s *Server) readBody(rs *reqState, r *http.Request) (*[]byte, bool) {
	if !isJSON(r.Header.Get("Content-Type")) {
		s.writeDetail(rs, http.StatusUnsupportedMediaType, "Unsupported Media Type: send Content-Type: application/json")
		return nil, false
	}
	limit := s.opt.BodyLimit
	if r.ContentLength > limit {
		s.writeDetail(rs, http.StatusRequestEntityTooLarge, "Request body over "+strconv.FormatInt(limit, 10)+" bytes")
		return nil, false
	}
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	max := limit + 1 // one byte more than allowed proves the body is too long
	if r.ContentLength > 0 && int64(cap(b)) < r.ContentLength+1 {
		b = make([]byte, 0, r.ContentLength+1)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(max-int64(len(b)), int64(cap(b))+4096)))
		}
		n, err := r.Body.Read(b[len(b):min(int64(cap(b)), max)])
		b = b[:len(b)+n]
		if int64(len(b)) >= max {
			*bp = b
			putBody(bp)
			s.writeDetail(rs, http.StatusRequestEntityTooLarge, "Request body over "+strconv.FormatInt(limit, 10)+" bytes")
			return nil, false
		}
		if err == io.EOF {
			*bp = b
			return bp, true
		}
		if err != nil {
			*bp = b
			putBody(bp)
			rs.errMsg = "read body: " + err.Error()
			s.writeDetail(rs, http.StatusBadRequest, "could not read the request body")
			return nil, false
		}
	}
}

func putBody(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		*bp = (*bp)[:0]
		bodyPool.Put(bp)
	}
}

// parsePredictQuery reads ?explain and ?comparables; a bad value is a 422.
func parsePredictQuery(raw string) (engine.PredictOptions, []FieldError) {
	var opt engine.PredictOptions
	if raw == "" {
		return opt, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return opt, []FieldError{{Loc: []any{"query"}, Msg: "Malformed query string", Type: "query_parsing"}}
	}
	var errs []FieldError
	if v, ok := q["explain"]; ok && len(v) > 0 {
		b, err := strconv.ParseBool(v[len(v)-1])
		if err != nil {
			errs = append(errs, FieldError{Loc: []any{"query", "explain"}, Msg: "Input should be a valid boolean", Type: "bool_parsing"})
		}
		opt.Explain = b
	}
	if v, ok := q["comparables"]; ok && len(v) > 0 {
		n, err := strconv.Atoi(v[len(v)-1])
		switch {
		case err != nil:
			errs = append(errs, FieldError{Loc: []any{"query", "comparables"}, Msg: "Input should be a valid integer", Type: "int_parsing"})
		case n < 0 || n > 50:
			errs = append(errs, FieldError{Loc: []any{"query", "comparables"}, Msg: "Input should be between 0 and 50", Type: "less_than_equal"})
		default:
			opt.Comparables = n
		}
	}
	return opt, errs
}

// writeValidation sends 422 with every field error.
func (s *Server) writeValidation(rs *reqState, errs []FieldError) {
	rs.errMsg = summarize(errs)
	b, err := json.Marshal(struct {
		Detail    []FieldError `json:"detail"`
		RequestID string       `json:"request_id"`
	}{errs, rs.id})
	if err != nil { // cannot happen: loc holds strings and ints
		s.writeDetail(rs, http.StatusUnprocessableEntity, rs.errMsg)
		return
	}
	s.write(rs, http.StatusUnprocessableEntity, b)
}

// writeSyntax sends 400 for malformed JSON, in the same detail shape.
func (s *Server) writeSyntax(rs *reqState, err error) {
	var se *SyntaxError
	if !errors.As(err, &se) {
		se = &SyntaxError{Msg: err.Error()}
	}
	rs.errMsg = se.Error()
	b, _ := json.Marshal(struct {
		Detail    []FieldError `json:"detail"`
		RequestID string       `json:"request_id"`
	}{[]FieldError{{Loc: []any{"body", se.Offset}, Msg: "JSON decode error: " + se.Msg, Type: "json_invalid"}}, rs.id})
	s.write(rs, http.StatusBadRequest, b)
}

func summarize(errs []FieldError) string {
	var sb strings.Builder
	for i, e := range errs {
		if i == 3 {
			fmt.Fprintf(&sb, "; and %d more", len(errs)-3)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		for j, l := range e.Loc {
			if j > 0 {
				sb.WriteByte('.')
			}
			fmt.Fprint(&sb, l)
		}
		sb.WriteString(": ")
		sb.WriteString(e.Msg)
	}
	return sb.String()
}

func (s *Server) decodeOptions() DecodeOptions {
	return DecodeOptions{Strict: s.opt.StrictFields, MaxYear: s.now().Year() + 1}
}

// predictOne runs the model, turning a panic, an error or a non-finite
// price into an error (the caller answers 500 and logs it).
func predictOne(m Model, l engine.Listing, opt engine.PredictOptions) (p engine.Prediction, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model panicked: %v", r)
		}
	}()
	p, err = m.Predict(l, opt)
	if err == nil && (math.IsNaN(p.Price) || math.IsInf(p.Price, 0)) {
		err = fmt.Errorf("model returned a non-finite price %v", p.Price)
	}
	return p, err
}

func (s *Server) handlePredict(rs *reqState, r *http.Request) {
	bp, ok := s.readBody(rs, r)
	if !ok {
		return
	}
	defer putBody(bp)
	m := s.opt.Models.Current()
	if m == nil {
		s.writeDetail(rs, http.StatusServiceUnavailable, errNoModel.Error())
		return
	}
	rs.modelVersion = m.Version()
	popt, qerrs := parsePredictQuery(r.URL.RawQuery)
	d, err := DecodeListing(*bp, s.decodeOptions())
	if err != nil {
		s.writeSyntax(rs, err)
		return
	}
	if errs := append(qerrs, d.Errors...); len(errs) > 0 {
		s.writeValidation(rs, errs)
		return
	}
	t0 := s.now()
	p, err := predictOne(m, d.Listing, popt)
	predLat := s.now().Sub(t0)
	if err != nil {
		s.log.Error("predict failed", "request_id", rs.id, "model_version", rs.modelVersion, "error", err.Error())
		rs.errMsg = "prediction failed: " + err.Error()
		s.writeDetail(rs, http.StatusInternalServerError, "prediction failed; quote the request_id to the operators")
		s.observe(rs, r, 0, d.Listing, math.NaN(), predLat, http.StatusInternalServerError, 0)
		return
	}
	s.met.predictions.Inc()
	b := append(rs.buf[:0], '{')
	b = appendPredictionFields(b, &p, d.Warnings)
	b = append(b, `,"model_version":`...)
	b = appendString(b, rs.modelVersion)
	b = append(b, `,"request_id":`...)
	b = appendString(b, rs.id)
	b = append(b, `,"latency_ms":`...)
	b = appendFloat(b, float64(s.now().Sub(rs.start).Microseconds())/1000)
	b = append(b, '}')
	rs.buf = b
	s.write(rs, http.StatusOK, b)
	s.observe(rs, r, 0, d.Listing, p.Price, predLat, http.StatusOK, len(d.Warnings)+len(p.Warnings))
}

func (s *Server) observe(rs *reqState, r *http.Request, index int, l engine.Listing, price float64, lat time.Duration, status, warnings int) {
	if s.observer == nil {
		return
	}
	s.observer.ObservePrediction(PredictionRecord{
		At: rs.start, RequestID: rs.id, Endpoint: r.URL.Path, Index: index, Listing: l, Price: price,
		Latency: lat, Status: status, ModelVersion: rs.modelVersion, Warnings: warnings,
	})
}

func (s *Server) handleBatch(rs *reqState, r *http.Request) {
	bp, ok := s.readBody(rs, r)
	if !ok {
		return
	}
	defer putBody(bp)
	m := s.opt.Models.Current()
	if m == nil {
		s.writeDetail(rs, http.StatusServiceUnavailable, errNoModel.Error())
		return
	}
	rs.modelVersion = m.Version()
	popt, qerrs := parsePredictQuery(r.URL.RawQuery)
	items, warnings, top, err := DecodeBatch(*bp, s.decodeOptions(), s.opt.BatchMax)
	if err != nil {
		s.writeSyntax(rs, err)
		return
	}
	if errs := append(qerrs, top...); len(errs) > 0 {
		s.writeValidation(rs, errs)
		return
	}
	b := append(rs.buf[:0], `{"predictions":[`...)
	failed := 0
	for i := range items {
		it := &items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		if len(it.Errors) > 0 {
			failed++
			eb, _ := json.Marshal(it.Errors)
			b = append(b, `,"status":422,"error":{"detail":`...)
			b = append(b, eb...)
			b = append(b, `}}`...)
			continue
		}
		t0 := s.now()
		p, err := predictOne(m, it.Listing, popt)
		lat := s.now().Sub(t0)
		if err != nil {
			failed++
			s.log.Error("predict failed", "request_id", rs.id, "index", i, "model_version", rs.modelVersion, "error", err.Error())
			b = append(b, `,"status":500,"error":{"detail":"prediction failed; quote the request_id to the operators"}}`...)
			s.observe(rs, r, i, it.Listing, math.NaN(), lat, http.StatusInternalServerError, 0)
			continue
		}
		s.met.predictions.Inc()
		b = append(b, `,"status":200,`...)
		b = appendPredictionFields(b, &p, it.Warnings)
		b = append(b, '}')
		s.observe(rs, r, i, it.Listing, p.Price, lat, http.StatusOK, len(it.Warnings)+len(p.Warnings))
	}
	b = append(b, `],"warnings":`...)
	b = appendStrings(b, warnings)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(items)), 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, int64(failed), 10)
	b = append(b, `,"model_version":`...)
	b = appendString(b, rs.modelVersion)
	b = append(b, `,"request_id":`...)
	b = appendString(b, rs.id)
	b = append(b, `,"latency_ms":`...)
	b = appendFloat(b, float64(s.now().Sub(rs.start).Microseconds())/1000)
	b = append(b, '}')
	rs.buf = b
	if failed > 0 {
		rs.errMsg = fmt.Sprintf("%d of %d items failed", failed, len(items))
	}
	s.write(rs, http.StatusOK, b)
}

// ParseWindow reads a ?window= value: a Go duration between 1 s and 24 h.
func ParseWindow(v string) (time.Duration, error) {
	if v == "" {
		return DefaultSnapshotWindow, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("window %q: %w", v, err)
	}
	if d < time.Second || d > 24*time.Hour {
		return 0, fmt.Errorf("window %s: must be between 1s and 24h", d)
	}
	return d, nil
}

func (s *Server) handleSnapshot(rs *reqState, r *http.Request) {
	win, err := ParseWindow(r.URL.Query().Get("window"))
	if err != nil {
		s.writeValidation(rs, []FieldError{{Loc: []any{"query", "window"}, Msg: err.Error(), Type: "duration_parsing"}})
		return
	}
	var snap engine.Snapshot
	if s.opt.SnapshotFunc != nil {
		snap, err = s.opt.SnapshotFunc(r.Context(), win)
		if err != nil {
			s.log.Error("snapshot failed", "request_id", rs.id, "error", err.Error())
			rs.errMsg = "snapshot: " + err.Error()
			s.writeDetail(rs, http.StatusInternalServerError, "snapshot failed")
			return
		}
	}
	s.fillSnapshot(&snap, win)
	rs.modelVersion = snap.Model.Version
	s.writeJSONValue(rs, http.StatusOK, snap)
}

// fillSnapshot completes what a SnapshotFunc left empty with the server's
// own view.
func (s *Server) fillSnapshot(snap *engine.Snapshot, win time.Duration) {
	if snap.At.IsZero() {
		snap.At = s.now()
	}
	if snap.Window == 0 {
		snap.Window = win
	}
	if snap.Health.Status == "" {
		snap.Health = s.Health()
	}
	if snap.Model.Version == "" {
		if m := s.opt.Models.Current(); m != nil {
			snap.Model = m.Info()
			if snap.Model.Version == "" {
				snap.Model.Version = m.Version()
			}
		}
	}
	if snap.Dropped == 0 && s.opt.PredictionLog != nil {
		snap.Dropped = int64(s.opt.PredictionLog.Dropped())
	}
}

// ParseMarketFilter reads the /market/summary query; errors name the parameter.
func ParseMarketFilter(q url.Values) (engine.MarketFilter, []FieldError) {
	var f engine.MarketFilter
	var errs []FieldError
	num := func(name string, dst *float64) {
		if v := q.Get(name); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				errs = append(errs, FieldError{Loc: []any{"query", name}, Msg: "Input should be a finite number >= 0", Type: "float_parsing"})
				return
			}
			*dst = x
		}
	}
	integer := func(name string, dst *int) {
		if v := q.Get(name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 || x > 3000 {
				errs = append(errs, FieldError{Loc: []any{"query", name}, Msg: "Input should be a year between 0 and 3000", Type: "int_parsing"})
				return
			}
			*dst = x
		}
	}
	num("min_price", &f.MinPrice)
	num("max_price", &f.MaxPrice)
	integer("min_year", &f.MinYear)
	integer("max_year", &f.MaxYear)
	integer("year", &f.Year)
	for _, v := range q["brands"] {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				f.Brands = append(f.Brands, b)
			}
		}
	}
	if f.MaxPrice > 0 && f.MinPrice > f.MaxPrice {
		errs = append(errs, FieldError{Loc: []any{"query", "min_price"}, Msg: "min_price is above max_price", Type: "value_error"})
	}
	if f.MaxYear > 0 && f.MinYear > f.MaxYear {
		errs = append(errs, FieldError{Loc: []any{"query", "min_year"}, Msg: "min_year is above max_year", Type: "value_error"})
	}
	return f, errs
}

func (s *Server) handleMarket(rs *reqState, r *http.Request) {
	if s.opt.MarketFunc == nil {
		s.writeDetail(rs, http.StatusNotFound, "market summary is not enabled on this server")
		return
	}
	f, errs := ParseMarketFilter(r.URL.Query())
	if len(errs) > 0 {
		s.writeValidation(rs, errs)
		return
	}
	rep, err := s.opt.MarketFunc(r.Context(), f)
	if err != nil {
		s.log.Error("market summary failed", "request_id", rs.id, "error", err.Error())
		rs.errMsg = "market: " + err.Error()
		s.writeDetail(rs, http.StatusInternalServerError, "market summary failed")
		return
	}
	s.writeJSONValue(rs, http.StatusOK, rep)
}
