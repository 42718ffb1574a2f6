package serve

import (
	"sync/atomic"
	"time"

	"carvision/engine"
)

// Model is a loaded price model as the server needs it. The lead adapts the
// gbdt model file to it.
type Model interface {
	// Version is the registered version (e.g. "v7"), shown in every response.
	Version() string
	// Info describes the model for GET /model.
	Info() engine.ModelInfo
	// Predict prices one listing. Unknown categories must predict with a
	// warning, not fail; an error here is a 500 for the client.
	Predict(l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error)
	// SchemaCheck is nil when the model's features agree with what the
	// current config makes of a request; otherwise its error text starts
	// with `Missing column "X"` (or says what else disagrees). /health
	// calls it on every probe, so it must be cheap (cache the verdict per
	// config generation).
	SchemaCheck() error
}

// ModelSource yields the model to use for one request.
type ModelSource interface {
	// Current returns the serving model, or nil when none is loaded.
	Current() Model
}

// Holder is a ModelSource whose model is swapped atomically. A request loads
// the pointer once and keeps that model to the end, so a swap never changes
// the model under a request in flight; the old model is collected when the
// last request holding it finishes.
type Holder struct {
	p atomic.Pointer[holderBox]
}

type holderBox struct {
	m  Model
	at time.Time
}

// NewHolder returns a holder serving m (which may be nil).
func NewHolder(m Model) *Holder {
	h := &Holder{}
	if m != nil {
		h.Swap(m)
	}
	return h
}

// Current returns the serving model, or nil.
func (h *Holder) Current() Model {
	if b := h.p.Load(); b != nil {
		return b.m
	}
	return nil
}

// Swap publishes m (nil unloads) and returns the model it replaced.
func (h *Holder) Swap(m Model) Model {
	var nb *holderBox
	if m != nil {
		nb = &holderBox{m: m, at: time.Now()}
	}
	if old := h.p.Swap(nb); old != nil {
		return old.m
	}
	return nil
}

// SwappedAt is when the current model was published (zero when none).
func (h *Holder) SwappedAt() time.Time {
	if b := h.p.Load(); b != nil {
		return b.at
	}
	return time.Time{}
}

// Recorder receives every request's latency (engine/monitor satisfies it).
// It is called on the request path, so it must not block.
type Recorder interface {
	Record(endpoint string, status int, latency time.Duration)
}

// RecorderFunc adapts a function to a Recorder, e.g.
//
//	serve.RecorderFunc(func(ep string, st int, d time.Duration) { mon.Record(monitor.EndpointOf(ep), st, d) })
type RecorderFunc func(endpoint string, status int, latency time.Duration)

// Record calls f.
func (f RecorderFunc) Record(endpoint string, status int, latency time.Duration) {
	f(endpoint, status, latency)
}

// PredictionRecord is one served prediction, as the drift window, the
// in-memory ring and the store's prediction log see it.
type PredictionRecord struct {
	At           time.Time      `json:"at"`
	RequestID    string         `json:"request_id"`
	Endpoint     string         `json:"endpoint"` // /predict or /predict_batch
	Index        int            `json:"index"`    // position in a batch; 0 for /predict
	Listing      engine.Listing `json:"-"`        // features as decoded (NaN / "" = missing)
	Price        float64        `json:"predicted_price"`
	Latency      time.Duration  `json:"latency"`
	Status       int            `json:"status"` // 200, or 500 when the model failed
	ModelVersion string         `json:"model_version"`
	Warnings     int            `json:"warnings"` // how many warnings the response carried
}

// Observer is told about every prediction that reached a model. It is called
// on the request path after the response is written: it must not block.
type Observer interface {
	ObservePrediction(rec PredictionRecord)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(rec PredictionRecord)

// ObservePrediction calls f(rec).
func (f ObserverFunc) ObservePrediction(rec PredictionRecord) { f(rec) }

// Observers fans one record out to several observers (nil ones skipped).
func Observers(obs ...Observer) Observer {
	var keep multiObserver
	for _, o := range obs {
		if o != nil {
			keep = append(keep, o)
		}
	}
	return keep
}

type multiObserver []Observer

func (m multiObserver) ObservePrediction(rec PredictionRecord) {
	for _, o := range m {
		o.ObservePrediction(rec)
	}
}

// ReloadStatus reports the last reload failure (Reloader satisfies it), so
// /health can say why no model is loaded.
type ReloadStatus interface {
	LastReloadError() error
}
