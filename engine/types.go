package engine

import "time"

// Health is the service's health as /health reports it.
type Health struct {
	Status        string  `json:"status"` // healthy | unhealthy
	Reason        string  `json:"reason,omitempty"`
	ModelVersion  string  `json:"model_version,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	Ready         bool    `json:"ready"`
}

// PredictOptions selects the optional parts of a prediction.
type PredictOptions struct {
	Explain     bool `json:"explain"`     // per-feature contributions
	Comparables int  `json:"comparables"` // how many comparable listings (0: none)
}

// Prediction is one priced listing.
type Prediction struct {
	Price        float64       `json:"predicted_price"`
	ModelVersion string        `json:"model_version"`
	RequestID    string        `json:"request_id,omitempty"`
	Warnings     []string      `json:"warnings"`
	Latency      time.Duration `json:"-"`
	LatencyMS    float64       `json:"latency_ms,omitempty"`

	Interval          *Interval      `json:"interval,omitempty"`
	Percentile        float64        `json:"market_percentile"`     // % of cleaned listings strictly below
	Band              string         `json:"market_band,omitempty"` // economy | mid | upper | premium
	Market            *MarketPlace   `json:"market,omitempty"`
	Contributions     []Contribution `json:"contributions,omitempty"`
	BaseValue         float64        `json:"base_value,omitempty"`
	Comparables       []Comparable   `json:"comparables,omitempty"`
	ComparablesMedian float64        `json:"comparables_median,omitempty"`
}

// Interval is a prediction interval at a stated coverage.
type Interval struct {
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	Coverage float64 `json:"coverage"` // nominal, e.g. 0.8
}

// MarketPlace gives the quartiles a price is placed against (the text gauge).
type MarketPlace struct {
	Q1     float64 `json:"q1"`
	Median float64 `json:"median"`
	Q3     float64 `json:"q3"`
	Max    float64 `json:"max"`
}

// Contribution is one feature's share of a prediction (TreeSHAP).
type Contribution struct {
	Feature string  `json:"feature"`
	Value   string  `json:"value"`
	Amount  float64 `json:"contribution"`
}

// Comparable is a training listing similar to the one priced.
type Comparable struct {
	Model      string  `json:"model"`
	ModelYear  int     `json:"model_year"`
	Odometer   float64 `json:"odometer"`
	Price      float64 `json:"price"`
	Condition  string  `json:"condition"`
	DaysListed int     `json:"days_listed"`
}

// Feature describes one model input.
type Feature struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // numeric | categorical
	Categories []string `json:"categories,omitempty"`
	Min        float64  `json:"min,omitempty"`
	Max        float64  `json:"max,omitempty"`
}

// ModelInfo describes the model being served.
type ModelInfo struct {
	Version     string             `json:"version"`
	Alias       string             `json:"alias,omitempty"`
	TrainedAt   time.Time          `json:"trained_at"`
	Kind        string             `json:"kind"` // gbdt | random_forest
	Trees       int                `json:"trees"`
	Features    []Feature          `json:"features"`
	Metrics     map[string]float64 `json:"metrics"`
	DataHash    string             `json:"data_hash"`
	DropColumns []string           `json:"drop_columns"`
	DatasetYear int                `json:"dataset_year"`
	Path        string             `json:"path,omitempty"`
}

// ModelVersion is a registered model in the store.
type ModelVersion struct {
	Version   string             `json:"version"`
	RunID     string             `json:"run_id"`
	Path      string             `json:"path"`
	Aliases   []string           `json:"aliases"`
	CreatedAt time.Time          `json:"created_at"`
	Metrics   map[string]float64 `json:"metrics"`
	Params    map[string]string  `json:"params"`
}

// ModelDiff compares two model versions metric by metric and param by param.
type ModelDiff struct {
	A, B    string     `json:"-"`
	Metrics []DiffRow  `json:"metrics"`
	Params  []DiffRow  `json:"params"`
	Gate    GateResult `json:"gate"`
}

// DiffRow is one line of a `metrics diff`: path, name, old, new, change.
type DiffRow struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Change string `json:"change"`
}

// GateResult is the promotion gate's verdict with its reasons.
type GateResult struct {
	Pass    bool     `json:"pass"`
	Reasons []string `json:"reasons"`
}

// LatencyStats is one window's latency quantiles and rates for an endpoint.
type LatencyStats struct {
	Endpoint  string  `json:"endpoint"`
	Count     int64   `json:"count"`
	RPS       float64 `json:"rps"`
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	Rate2xx   float64 `json:"rate_2xx"`
	Rate4xx   float64 `json:"rate_4xx"`
	Rate5xx   float64 `json:"rate_5xx"`
	ErrorRate float64 `json:"error_rate"` // 5xx share
}

// Point is one sample of a time series for the console's graphs.
type Point struct {
	T     time.Time `json:"t"`
	P50MS float64   `json:"p50_ms"`
	P95MS float64   `json:"p95_ms"`
	P99MS float64   `json:"p99_ms"`
	RPS   float64   `json:"rps"`
	Err   float64   `json:"error_rate"`
}

// FeatureDrift is the drift verdict for one feature.
type FeatureDrift struct {
	Feature     string    `json:"feature"`
	Kind        string    `json:"kind"`
	Test        string    `json:"test"` // psi | ks | jensen_shannon | wasserstein
	Score       float64   `json:"score"`
	Threshold   float64   `json:"threshold"`
	Drifted     bool      `json:"drifted"`
	PSI         float64   `json:"psi"`
	KS          float64   `json:"ks,omitempty"`
	KSP         float64   `json:"ks_p_value,omitempty"`
	Wasserstein float64   `json:"wasserstein,omitempty"`
	JS          float64   `json:"jensen_shannon,omitempty"`
	Bins        []string  `json:"bins,omitempty"` // labels of the bars
	RefShare    []float64 `json:"ref_share,omitempty"`
	CurShare    []float64 `json:"cur_share,omitempty"`
}

// DriftSummary is the dataset-level drift verdict.
type DriftSummary struct {
	Status           string         `json:"status"` // collecting | ok | drift
	WindowSize       int            `json:"window_size"`
	MinWindow        int            `json:"min_window"`
	Features         []FeatureDrift `json:"features"`
	DriftShare       float64        `json:"drift_share"`
	DatasetDrift     bool           `json:"dataset_drift"`
	RecommendRetrain bool           `json:"recommend_retrain"`
	Reason           string         `json:"recommendation_reason"`
	OutOfRangeShare  float64        `json:"out_of_range_share"`
	MaxTrainYear     int            `json:"max_train_year"`
}

// Alert is one alert rule's current state.
type Alert struct {
	Name        string    `json:"name"`
	State       string    `json:"state"` // inactive | pending | firing
	Severity    string    `json:"severity"`
	Value       float64   `json:"value"`     // in the metric's unit (latency in seconds)
	Threshold   float64   `json:"threshold"` // same unit as Value
	Op          string    `json:"op"`        // > < >= <= == !=
	Metric      string    `json:"metric"`    // e.g. latency_p95`
	Since       time.Time `json:"since,omitempty"`
	Runbook     string    `json:"runbook"`
	Description string    `json:"description"`
}

// Snapshot is the whole live picture at one instant.
type Snapshot struct {
	At      time.Time      `json:"at"`
	Health  Health         `json:"health"`
	Model   ModelInfo      `json:"model"`
	Window  time.Duration  `json:"window"`
	Latency []LatencyStats `json:"latency"` // per endpoint; "all" first
	History []Point        `json:"history"`
	SLO     SLO            `json:"slo"`
	Drift   DriftSummary   `json:"drift"`
	Alerts  []Alert        `json:"alerts"`
	Events  []Event        `json:"events"` // most recent first
	Demo    bool           `json:"demo"`
	Dropped int64          `json:"prediction_log_dropped"`
}

// SLO holds the thresholds the console draws against.
type SLO struct {
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	ErrorRate float64 `json:"error_rate"`
}

// Event is something that happened that every viewer should see.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // retrain | promote | rollback | reload | config | alert | session | runbook
	Actor   string    `json:"actor,omitempty"`
	Message string    `json:"message"`
}

// PipelineEvent is one progress report from a running pipeline.
type PipelineEvent struct {
	At       time.Time     `json:"at"`
	Stage    string        `json:"stage"`
	Status   string        `json:"status"` // running | done | skipped | failed
	Fraction float64       `json:"fraction"`
	ETA      time.Duration `json:"eta"`
	Message  string        `json:"message"`
	Took     time.Duration `json:"took,omitempty"` // how long the stage ran, on its "done" event
	Done     bool          `json:"done"`
	Err      string        `json:"error,omitempty"`
	RunID    string        `json:"run_id,omitempty"`
	Version  string        `json:"version,omitempty"` // registered model version when Done
}

// StageStatus is one pipeline stage's last known state.
type StageStatus struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"` // up-to-date | changed | running | failed | never
	Why      string        `json:"why,omitempty"`
	Duration time.Duration `json:"duration"`
	Cached   bool          `json:"cached"`
}

// PipelineStatus is what the Retrain page shows before and after a run.
type PipelineStatus struct {
	Stages        []StageStatus `json:"stages"`
	Running       bool          `json:"running"`
	InputsChanged []string      `json:"inputs_changed"` // files changed since the last repro
	LastRun       string        `json:"last_run"`
}

// LogQuery selects log lines.
type LogQuery struct {
	Level  string `json:"level"` // minimum: debug | info | warn | error
	Search string `json:"search"`
	Limit  int    `json:"limit"`
}

// LogLine is one structured log record.
type LogLine struct {
	At      time.Time         `json:"time"`
	Level   string            `json:"level"`
	Message string            `json:"msg"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Raw     string            `json:"raw"`
}

// ConfigState is the live config and whether the file on disk is valid.
type ConfigState struct {
	Path      string    `json:"path"`
	Text      string    `json:"text"`  // the file as on disk
	Valid     bool      `json:"valid"` // the file on disk parses and validates
	Error     string    `json:"error,omitempty"`
	Line      int       `json:"line,omitempty"`
	AppliedAt time.Time `json:"applied_at"`
}

// MarketFilter narrows the market report like the original dashboard's sidebar.
type MarketFilter struct {
	MinPrice float64  `json:"min_price,omitempty"`
	MaxPrice float64  `json:"max_price,omitempty"`
	MinYear  int      `json:"min_year,omitempty"`
	MaxYear  int      `json:"max_year,omitempty"`
	Brands   []string `json:"brands,omitempty"`
	Year     int      `json:"year"` // reference year for vehicle_age (0: current year)
}
