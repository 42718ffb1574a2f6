// Package config loads, validates and watches config.yaml: the one place
// where CarVision's thresholds, paths and training parameters live.
//
// Loading is strict: an unknown key, a wrong type or an out-of-range value is
// an error naming the key path and the line. Absent keys take the values of
// Default(). Validation rules live next to the fields as struct tags
// (range, oneof, check, required) so that the validator, the generated
// documentation (Marshal) and the tests read one source of truth.
//
// A *Config is immutable once loaded: share it freely, never modify it.
package config

import (
	"time"
)

// Config is the whole of config.yaml.
type Config struct {
	ProjectName   string        `yaml:"project_name" check:"nonempty"`
	Seed          int64         `yaml:"seed" range:"[0,)"`
	DatasetYear   int           `yaml:"dataset_year" range:"[2000,2030]"`
	Paths         Paths         `yaml:"paths"`
	Training      Training      `yaml:"training"`
	Preprocessing Preprocessing `yaml:"preprocessing"`
	Evaluation    Evaluation    `yaml:"evaluation"`
	Gate          Gate          `yaml:"gate"`
	Serve         Serve         `yaml:"serve"`
	Logging       Logging       `yaml:"logging"`
	Monitor       Monitor       `yaml:"monitor"`
	Drift         Drift         `yaml:"drift"`
	Alerts        Alerts        `yaml:"alerts"`
	SSH           SSH           `yaml:"ssh"`
	Runbooks      Runbooks      `yaml:"runbooks"`
	Console       Console       `yaml:"console"`

	// Source says where this config came from; it is not part of the
	// settings (Hash, Section and Marshal ignore it).
	Source Source `yaml:"-"`
}

// Source records the file a Config was parsed from.
type Source struct {
	Path string // as given to Load or Parse ("" for Default)
	Text string // the parsed text
}

// Paths are the files and folders CarVision reads and writes.
type Paths struct {
	DataPath     string `yaml:"data_path" check:"path"`
	ArtifactsDir string `yaml:"artifacts_dir" check:"path"`
	ProcessedDir string `yaml:"processed_dir" check:"path"`
	ModelsDir    string `yaml:"models_dir" check:"path"`
	StorePath    string `yaml:"store_path" check:"path"`
	LockPath     string `yaml:"lock_path" check:"path"`
	LogPath      string `yaml:"log_path" check:"path"`
	StateDir     string `yaml:"state_dir" check:"path"`
	RunbooksDir  string `yaml:"runbooks_dir" check:"optpath"`

	// Original keys, accepted so that the original config loads; CarVision
	// writes its artifacts under artifacts_dir/models_dir instead.
	ModelPath           string `yaml:"model_path,omitempty" check:"optpath" legacy:"true"`
	MetricsPath         string `yaml:"metrics_path,omitempty" check:"optpath" legacy:"true"`
	BaselineMetricsPath string `yaml:"baseline_metrics_path,omitempty" check:"optpath" legacy:"true"`
	SplitIndicesPath    string `yaml:"split_indices_path,omitempty" check:"optpath" legacy:"true"`
}

// Training selects the model and its parameters.
type Training struct {
	Target   string   `yaml:"target" oneof:"price"`
	TestSize float64  `yaml:"test_size" range:"[0.05,0.5]"`
	ValSize  float64  `yaml:"val_size" range:"[0.05,0.5]"`
	Shuffle  bool     `yaml:"shuffle"`
	Model    string   `yaml:"model" oneof:"gbdt|random_forest"`
	Baseline string   `yaml:"baseline" oneof:"dummy_median"`
	Features []string `yaml:"features" check:"ident,unique"`
	// TargetTransform is the scale the trees learn price on: sqrt won on
	// both RMSE and MAPE on the real data (see README), none is raw L2.
	TargetTransform string       `yaml:"target_transform" oneof:"none|sqrt|log"`
	Refit           bool         `yaml:"refit"`
	RefitTreeFactor float64      `yaml:"refit_tree_factor" range:"[1,3]"`
	GBDT            GBDT         `yaml:"gbdt"`
	RandomForest    RandomForest `yaml:"random_forest"`

	// RandomForestParams is the original's block: Parse copies its values
	// onto RandomForest and then drops it, so a loaded Config holds nil here
	// (setting the same parameter in both blocks is an error).
	RandomForestParams *RandomForestParams `yaml:"random_forest_params,omitempty" legacy:"true"`
}

// GBDT holds the gradient-boosting parameters (LightGBM's names and meanings).
type GBDT struct {
	Trees               int     `yaml:"trees" range:"[1,100000]"`
	LearningRate        float64 `yaml:"learning_rate" range:"(0,1]"`
	NumLeaves           int     `yaml:"num_leaves" range:"[2,131072]"`
	MaxDepth            int     `yaml:"max_depth" range:"[0,64]"`
	MinDataInLeaf       int     `yaml:"min_data_in_leaf" range:"[1,1000000]"`
	MinSumHessian       float64 `yaml:"min_sum_hessian" range:"[0,1e9]"`
	LambdaL2            float64 `yaml:"lambda_l2" range:"[0,1e9]"`
	MaxBin              int     `yaml:"max_bin" range:"[2,255]"`
	EarlyStoppingRounds int     `yaml:"early_stopping_rounds" range:"[0,100000]"`
	Threads             int     `yaml:"threads" range:"[0,1024]"`
	MaxCatThreshold     int     `yaml:"max_cat_threshold" range:"[1,1024]"`
	CatSmooth           float64 `yaml:"cat_smooth" range:"[0,1e9]"`
	CatL2               float64 `yaml:"cat_l2" range:"[0,1e9]"`
	MinDataPerGroup     int     `yaml:"min_data_per_group" range:"[1,1000000]"`
	MaxCatToOnehot      int     `yaml:"max_cat_to_onehot" range:"[1,1024]"`
}

// RandomForest holds the random-forest mode's parameters (the original's model type).
type RandomForest struct {
	Trees           int     `yaml:"trees" range:"[1,10000]"`
	NumLeaves       int     `yaml:"num_leaves" range:"[2,131072]"`
	MaxDepth        int     `yaml:"max_depth" range:"[0,64]"`
	MinDataInLeaf   int     `yaml:"min_data_in_leaf" range:"[1,1000000]"`
	BaggingFraction float64 `yaml:"bagging_fraction" range:"(0,1]"`
	FeatureFraction float64 `yaml:"feature_fraction" range:"(0,1]"`
	MaxBin          int     `yaml:"max_bin" range:"[2,255]"`
	Threads         int     `yaml:"threads" range:"[0,1024]"`
}

// RandomForestParams is the original's training.random_forest_params with
// its later pydantic ranges. A nil pointer field was not given.
type RandomForestParams struct {
	NEstimators    *int `yaml:"n_estimators,omitempty" range:"[10,1000]"`
	MaxDepth       *int `yaml:"max_depth,omitempty" range:"[1,50]"`
	MinSamplesLeaf *int `yaml:"min_samples_leaf,omitempty" range:"[1,20]"`
	NJobs          *int `yaml:"n_jobs,omitempty" range:"[-1,1024]"`
}

// Preprocessing is the cleaning step's settings.
type Preprocessing struct {
	Filters             Filters  `yaml:"filters"`
	DropColumns         []string `yaml:"drop_columns" check:"ident,unique"`
	NumericFeatures     []string `yaml:"numeric_features" check:"ident,unique"`
	CategoricalFeatures []string `yaml:"categorical_features" check:"ident,unique"`

	// Original keys (sklearn preprocessing); informational: the trees
	// handle missing values and categories natively and need no scaling.
	NumericImputer        string `yaml:"numeric_imputer,omitempty" oneof:"|mean|median|most_frequent" legacy:"true"`
	ScaleNumeric          *bool  `yaml:"scale_numeric,omitempty" legacy:"true"`
	CategoricalImputer    string `yaml:"categorical_imputer,omitempty" oneof:"|most_frequent|constant" legacy:"true"`
	HandleUnknownCategory string `yaml:"handle_unknown_category,omitempty" oneof:"|ignore|error" legacy:"true"`
}

// Filters are the original's cleaning thresholds: min_price < price <
// max_price, model_year >= min_year, 0 < odometer < max_odometer.
type Filters struct {
	MinPrice    float64 `yaml:"min_price" range:"[0,1e9]"`
	MaxPrice    float64 `yaml:"max_price" range:"[1000,1e9]"`
	MinYear     int     `yaml:"min_year" range:"[1900,2030]"`
	MaxOdometer float64 `yaml:"max_odometer" range:"[0,1e9]"`
}

// Evaluation configures the test-set evaluation.
type Evaluation struct {
	Metrics   []string  `yaml:"metrics" oneof:"rmse|mae|mape|r2|mse" check:"nonempty,unique"`
	Bootstrap Bootstrap `yaml:"bootstrap"`
	Temporal  Temporal  `yaml:"temporal"`
	Segments  Segments  `yaml:"segments"`
	Interval  Interval  `yaml:"interval"`
}

// Bootstrap configures the ΔRMSE confidence interval against the baseline.
type Bootstrap struct {
	Enabled     bool    `yaml:"enabled"`
	NResamples  int     `yaml:"n_resamples" range:"[50,10000]"`
	RandomState int64   `yaml:"random_state" range:"[0,)"`
	Confidence  float64 `yaml:"confidence" range:"[0.5,0.999]"`
}

// Temporal configures the out-of-time backtest.
type Temporal struct {
	Enabled  bool    `yaml:"enabled"`
	TestSize float64 `yaml:"test_size" range:"[0.05,0.5]"`
}

// Segments configures per-segment errors.
type Segments struct {
	MinN    int      `yaml:"min_n" range:"[1,1000000]"`
	Columns []string `yaml:"columns" check:"ident,unique"`
}

// Interval configures prediction intervals from calibration residuals.
type Interval struct {
	Coverage float64 `yaml:"coverage" range:"(0,1)"`
}

// Gate is the promotion gate a challenger passes to become champion.
type Gate struct {
	MinR2         float64 `yaml:"min_r2" range:"[-1,1]"`
	MaxRMSE       float64 `yaml:"max_rmse" range:"(0,1e9]"`
	MaxRegression float64 `yaml:"max_regression" range:"[0,1]"`
}

// Serve configures the HTTP API.
type Serve struct {
	Addr              string        `yaml:"addr" check:"addr"`
	BodyLimit         ByteSize      `yaml:"body_limit" range:"[1KiB,1GiB]"`
	BatchMax          int           `yaml:"batch_max" range:"[1,100000]"`
	StrictFields      bool          `yaml:"strict_fields"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" range:"[1ms,1h]"`
	ReadTimeout       time.Duration `yaml:"read_timeout" range:"[1ms,1h]"`
	WriteTimeout      time.Duration `yaml:"write_timeout" range:"[1ms,1h]"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" range:"[1ms,24h]"`
	DrainTimeout      time.Duration `yaml:"drain_timeout" range:"[0s,1h]"`
	MaxConcurrent     int           `yaml:"max_concurrent" range:"[1,100000]"`
	PredictionLog     PredictionLog `yaml:"prediction_log"`
	ReloadDebounce    time.Duration `yaml:"reload_debounce" range:"[0s,1m]"`
}

// PredictionLog configures the served-prediction ring and its sampled store queue.
type PredictionLog struct {
	Ring          int           `yaml:"ring" range:"[1,10000000]"`
	SampleRate    float64       `yaml:"sample_rate" range:"[0,1]"`
	Queue         int           `yaml:"queue" range:"[1,10000000]"`
	Batch         int           `yaml:"batch" range:"[1,1000000]"`
	FlushInterval time.Duration `yaml:"flush_interval" range:"[1ms,1h]"`
	Retention     time.Duration `yaml:"retention" range:"[1m,8760h]"`
	MaxRows       int           `yaml:"max_rows" range:"[1000,1000000000]"`
}

// Logging configures log/slog output and lumberjack rotation.
type Logging struct {
	Level       string `yaml:"level" oneof:"debug|info|warn|error"`
	Format      string `yaml:"format" oneof:"json|text"`
	MaxSizeMB   int    `yaml:"max_size_mb" range:"[1,100000]"`
	MaxBackups  int    `yaml:"max_backups" range:"[0,10000]"`
	MaxAgeDays  int    `yaml:"max_age_days" range:"[0,36500]"`
	DailyRotate bool   `yaml:"daily_rotate"`
	Compress    bool   `yaml:"compress"`
}

// Monitor configures the live latency and error windows.
type Monitor struct {
	Windows []time.Duration `yaml:"windows" range:"[1s,24h]" check:"nonempty,unique"`
	History History         `yaml:"history"`
}

// History says how long the console's graph points are kept.
type History struct {
	PerSecond time.Duration `yaml:"per_second" range:"[1m,24h]"`
	PerMinute time.Duration `yaml:"per_minute" range:"[1h,720h]"`
}

// Drift configures the live drift report against the model's reference.
type Drift struct {
	MinWindow            int      `yaml:"min_window" range:"[1,10000000]"`
	Window               int      `yaml:"window" range:"[1,10000000]"`
	Features             []string `yaml:"features" check:"ident,unique"`
	PSIThreshold         float64  `yaml:"psi_threshold" range:"(0,10]"`
	PSIRetrain           float64  `yaml:"psi_retrain" range:"(0,10]"`
	PSIRetrainFeatures   int      `yaml:"psi_retrain_features" range:"[1,1000]"`
	KSP                  float64  `yaml:"ks_p" range:"(0,1)"`
	JSThreshold          float64  `yaml:"js_threshold" range:"(0,1]"`
	WassersteinThreshold float64  `yaml:"wasserstein_threshold" range:"(0,100]"`
	DatasetDriftShare    float64  `yaml:"dataset_drift_share" range:"(0,1]"`
}

// Alerts configures alert evaluation, notification and the rules.
type Alerts struct {
	EvalInterval time.Duration `yaml:"eval_interval" range:"[100ms,1h]"`
	Webhook      Webhook       `yaml:"webhook"`
	Rules        []Rule        `yaml:"rules"`
}

// Webhook is an optional JSON POST for alert notifications ("" url: off).
type Webhook struct {
	URL     string        `yaml:"url" check:"url"`
	Timeout time.Duration `yaml:"timeout" range:"[1ms,1m]"`
	Retries int           `yaml:"retries" range:"[0,10]"`
}

// Rule is one alert rule: it holds when `Expr Op Threshold` and fires after
// holding continuously for For (Prometheus semantics).
type Rule struct {
	Name        string        `yaml:"name" required:"true" check:"name"`
	Expr        string        `yaml:"expr" required:"true"`
	Op          string        `yaml:"op" required:"true" oneof:">|<|>=|<=|==|!=" style:"double"`
	Threshold   float64       `yaml:"threshold" required:"true"`
	For         time.Duration `yaml:"for" range:"[0s,168h]"`
	Severity    string        `yaml:"severity" oneof:"info|warning|critical"`
	Runbook     string        `yaml:"runbook" check:"runbook"`
	Description string        `yaml:"description"`

	// Metric and Window are Expr parsed ("latency_p95[5m]" → latency_p95, 5m;
	// Window 0 = the metric's own or the shortest monitor window).
	Metric string        `yaml:"-"`
	Window time.Duration `yaml:"-"`
}

// SSH configures the console over SSH.
type SSH struct {
	Addr               string            `yaml:"addr" check:"optaddr"`
	HostKeyPath        string            `yaml:"host_key_path" check:"path"`
	AuthorizedKeysPath string            `yaml:"authorized_keys_path" check:"path"`
	IdleTimeout        time.Duration     `yaml:"idle_timeout" range:"[1s,24h]"`
	MaxSession         time.Duration     `yaml:"max_session" range:"[1m,168h]"`
	MaxSessions        int               `yaml:"max_sessions" range:"[1,10000]"`
	Roles              map[string]string `yaml:"roles" oneof:"viewer|operator"`
}

// Runbooks configures the runbook runner.
type Runbooks struct {
	WarnRemovedShare float64       `yaml:"warn_removed_share" range:"(0,1]"`
	ShOutputCap      ByteSize      `yaml:"sh_output_cap" range:"[1KiB,64MiB]"`
	ShTimeout        time.Duration `yaml:"sh_timeout" range:"[1s,24h]"`
}

// Console configures the terminal console.
type Console struct {
	Theme string `yaml:"theme" oneof:"default|mono|light"`
	Mouse bool   `yaml:"mouse"`
	Demo  Demo   `yaml:"demo"`
}

// Demo configures the console's synthetic traffic.
type Demo struct {
	Rate     float64 `yaml:"rate" range:"(0,100000]"`
	Episodes bool    `yaml:"episodes"`
}

// Default returns the built-in configuration; every absent key takes its
// value from here. Each call returns a fresh value.
func Default() *Config {
	c := &Config{
		ProjectName: "CarVision",
		Seed:        42,
		// The data's listings were posted 2018-05 .. 2019-04 and its newest
		// model_year is 2019, so 2019 makes vehicle_age the age at listing
		// time. The original used 2024, which shifts every age by 5 years
		// and extrapolates for nothing.
		DatasetYear: 2019,
		Paths: Paths{
			DataPath:     "data/raw/vehicles_us.csv",
			ArtifactsDir: "artifacts",
			ProcessedDir: "data/processed",
			ModelsDir:    "artifacts/models",
			StorePath:    "artifacts/carvision.db",
			LockPath:     "carvision.lock",
			LogPath:      "logs/carvision.log",
			StateDir:     ".carvision",
			RunbooksDir:  "runbooks",
		},
		Training: Training{
			Target:          "price",
			TestSize:        0.2,
			ValSize:         0.2,
			Shuffle:         true,
			Model:           "gbdt",
			Baseline:        "dummy_median",
			Features:        []string{},
			TargetTransform: "sqrt",
			Refit:           true,
			RefitTreeFactor: 1,
			GBDT: GBDT{
				Trees:               2000,
				LearningRate:        0.1,
				NumLeaves:           127,
				MaxDepth:            0,
				MinDataInLeaf:       20,
				MinSumHessian:       1e-3,
				LambdaL2:            0,
				MaxBin:              255,
				EarlyStoppingRounds: 50,
				Threads:             0,
				MaxCatThreshold:     32,
				CatSmooth:           10,
				CatL2:               10,
				MinDataPerGroup:     100,
				MaxCatToOnehot:      4,
			},
			RandomForest: RandomForest{
				Trees:           300,
				NumLeaves:       4096,
				MaxDepth:        12,
				MinDataInLeaf:   2,
				BaggingFraction: 0.632,
				FeatureFraction: 1,
				MaxBin:          255,
				Threads:         0,
			},
		},
		Preprocessing: Preprocessing{
			Filters: Filters{
				MinPrice:    1000,
				MaxPrice:    500000,
				MinYear:     1990,
				MaxOdometer: 500000,
			},
			DropColumns:         []string{"price_per_mile", "price_category"},
			NumericFeatures:     []string{},
			CategoricalFeatures: []string{},
		},
		Evaluation: Evaluation{
			Metrics:   []string{"rmse", "mae", "mape", "r2"},
			Bootstrap: Bootstrap{Enabled: true, NResamples: 200, RandomState: 42, Confidence: 0.95},
			Temporal:  Temporal{Enabled: true, TestSize: 0.2},
			Segments:  Segments{MinN: 30, Columns: []string{"condition", "type", "model_year", "brand"}},
			Interval:  Interval{Coverage: 0.8},
		},
		Gate: Gate{MinR2: 0.70, MaxRMSE: 6000, MaxRegression: 0.02},
		Serve: Serve{
			Addr:              "127.0.0.1:8000",
			BodyLimit:         MiB,
			BatchMax:          1000,
			StrictFields:      true,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			DrainTimeout:      10 * time.Second,
			MaxConcurrent:     256,
			PredictionLog: PredictionLog{
				Ring:          10000,
				SampleRate:    0.1,
				Queue:         4096,
				Batch:         256,
				FlushInterval: time.Second,
				Retention:     7 * 24 * time.Hour,
				MaxRows:       1_000_000,
			},
			ReloadDebounce: 500 * time.Millisecond,
		},
		Logging: Logging{
			Level:       "info",
			Format:      "json",
			MaxSizeMB:   100,
			MaxBackups:  7,
			MaxAgeDays:  30,
			DailyRotate: true,
			Compress:    true,
		},
		Monitor: Monitor{
			Windows: []time.Duration{time.Minute, 5 * time.Minute, time.Hour},
			History: History{PerSecond: time.Hour, PerMinute: 24 * time.Hour},
		},
		Drift: Drift{
			MinWindow:            200,
			Window:               100000,
			Features:             []string{},
			PSIThreshold:         0.1,
			PSIRetrain:           0.25,
			PSIRetrainFeatures:   3,
			KSP:                  0.01,
			JSThreshold:          0.1,
			WassersteinThreshold: 0.1,
			DatasetDriftShare:    0.5,
		},
		Alerts: Alerts{
			EvalInterval: 15 * time.Second,
			Webhook:      Webhook{URL: "", Timeout: 2 * time.Second, Retries: 3},
			Rules:        defaultRules(),
		},
		SSH: SSH{
			Addr:               "",
			HostKeyPath:        ".carvision/ssh_host_ed25519",
			AuthorizedKeysPath: ".carvision/authorized_keys",
			IdleTimeout:        15 * time.Minute,
			MaxSession:         8 * time.Hour,
			MaxSessions:        32,
			Roles:              map[string]string{},
		},
		Runbooks: Runbooks{
			WarnRemovedShare: 0.5,
			ShOutputCap:      64 * KiB,
			ShTimeout:        30 * time.Second,
		},
		Console: Console{
			Theme: "default",
			Mouse: false,
			Demo:  Demo{Rate: 20, Episodes: true},
		},
	}
	for i := range c.Alerts.Rules {
		// Shipped rules are valid by construction (a test checks it).
		c.Alerts.Rules[i].Metric, c.Alerts.Rules[i].Window, _ = ParseExpr(c.Alerts.Rules[i].Expr)
	}
	return c
}

// defaultRules are the runbook's alerts (issue 5 item 3); each names the
// shipped runbook that handles it.
func defaultRules() []Rule {
	return []Rule{
		{Name: "latency_p95_high", Expr: "latency_p95[5m]", Op: ">", Threshold: 0.5, For: 5 * time.Minute,
			Severity: "warning", Runbook: "high-latency",
			Description: "P95 latency over 500 ms for 5 minutes"},
		{Name: "latency_p99_slo", Expr: "latency_p99[5m]", Op: ">", Threshold: 0.2, For: 5 * time.Minute,
			Severity: "warning", Runbook: "high-latency",
			Description: "P99 latency over the 200 ms SLO for 5 minutes"},
		{Name: "error_rate_5xx_high", Expr: "error_rate_5xx[5m]", Op: ">", Threshold: 0.01, For: 5 * time.Minute,
			Severity: "critical", Runbook: "error-rate",
			Description: "more than 1% of responses are 5xx for 5 minutes"},
		{Name: "health_down", Expr: "health_ok", Op: "==", Threshold: 0, For: time.Minute,
			Severity: "critical", Runbook: "deploy-verify",
			Description: "/health has not answered 200 for 1 minute"},
		{Name: "disk_usage_high", Expr: "disk_usage", Op: ">", Threshold: 0.85, For: 5 * time.Minute,
			Severity: "warning", Runbook: "disk-space",
			Description: "the data or log volume is more than 85% full"},
		{Name: "data_drift", Expr: "drift_detected", Op: "==", Threshold: 1, For: 15 * time.Minute,
			Severity: "warning", Runbook: "low-accuracy-drift",
			Description: "served requests drift from the training data"},
		{Name: "retrain_recommended", Expr: "retrain_recommended", Op: "==", Threshold: 1, For: 15 * time.Minute,
			Severity: "warning", Runbook: "retrain-compare",
			Description: "the drift report recommends retraining (PSI or KS rule)"},
		{Name: "model_reload_failed", Expr: "model_reload_failed", Op: "==", Threshold: 1, For: 0,
			Severity: "critical", Runbook: "api-500-missing-column",
			Description: "a new model was refused (checksum, schema or warm-up); the previous one still serves"},
	}
}
