package config

import (
	"reflect"
	"strings"
	"sync"
)

const fileHeader = `CarVision configuration.

Loading is strict: an unknown key, a wrong type or an out-of-range value is
an error naming the key and the line, and a running server keeps its last
good config. Absent keys take the defaults shown here. Durations are Go
strings (500ms, 15s, 5m, 1h); sizes are bytes or 512KiB / 1MiB / 1GB.
Relative paths are relative to the folder holding this file.
Write a fresh documented copy with Marshal(Default()).`

const legacyFooter = `Keys of the original config.yaml, accepted so that it loads unchanged:
  paths.model_path, paths.metrics_path, paths.baseline_metrics_path,
  paths.split_indices_path: informational; CarVision writes the model under
    paths.models_dir and metrics.json / processed splits under the run folder.
  training.random_forest_params: {n_estimators 10..1000, max_depth 1..50,
    min_samples_leaf 1..20, n_jobs -1 or >= 1}: copied onto
    training.random_forest (trees, max_depth, min_data_in_leaf, threads;
    n_jobs -1 = threads 0). Setting a parameter in both blocks is an error.
  preprocessing.numeric_imputer (mean|median|most_frequent),
  preprocessing.scale_numeric (bool), preprocessing.categorical_imputer
  (most_frequent|constant), preprocessing.handle_unknown_category
  (ignore|error): informational; the trees take missing values and
  categories natively and need no scaling.`

// docs explains every key; Marshal turns them into the comments of
// config.yaml. A test checks that every key of Keys() has one.
var docs = map[string]string{
	"project_name": "Name shown in the console and logs.",
	"seed":         "Seed of the split hash, the trainers and the bootstrap.",
	"dataset_year": "Reference year: vehicle_age = dataset_year - model_year. The listings " +
		"were posted 2018-05..2019-04 and the newest model_year is 2019, so 2019 gives the age " +
		"at listing time; the original's 2024 shifted every age by five years.",

	"paths":               "Files and folders, relative to the folder holding this file.",
	"paths.data_path":     "Raw listings CSV (13 columns). Absent: the embedded synthetic data is used.",
	"paths.artifacts_dir": "Root of everything a run writes.",
	"paths.processed_dir": "Cleaned splits {train,valid,test}.csv for other tools.",
	"paths.models_dir":    "Registered model files.",
	"paths.store_path":    "SQLite store: runs, metrics, registry, alerts, audit.",
	"paths.lock_path":     "Pipeline lock file (commit it, like dvc.lock).",
	"paths.log_path":      "Service log (JSON lines, rotated).",
	"paths.state_dir":     "Local state: the SSH host key and authorized keys.",
	"paths.runbooks_dir":  "User runbooks that add to or override the shipped library; \"\" = none. The folder may be absent.",

	"training":                                "Model training.",
	"training.target":                         "Column to predict (raw USD, no transform).",
	"training.test_size":                      "Share of cleaned rows in the test split (by content hash).",
	"training.val_size":                       "Share of cleaned rows in the validation split; test_size + val_size <= 0.8.",
	"training.shuffle":                        "Informational, from the original: the hash split is order-independent either way.",
	"training.model":                          "Trainer: gradient-boosted trees or the original's random forest.",
	"training.baseline":                       "Baseline the model is compared with (median of train prices).",
	"training.target_transform":               "Scale the trees learn price on: sqrt (default; beat raw price on both RMSE and MAPE on the real data), none, or log.",
	"training.refit":                          "After early stopping on valid, refit on train+valid with the chosen number of trees (the peers also fit on train+valid).",
	"training.refit_tree_factor":              "Trees of the refit = best iteration × this. 1 (default) keeps the early-stopped size: 1.25 gained 0.15 % RMSE on the real data for 25 % more fit and explain time.",
	"training.features":                       "Model inputs; [] = the engine's chosen set. Names must exist after cleaning; not the target, not dropped.",
	"training.gbdt":                           "Gradient boosting (LightGBM names and meanings). Tuned defaults; the lead may adjust.",
	"training.gbdt.trees":                     "Maximum boosting rounds (early stopping may end sooner).",
	"training.gbdt.learning_rate":             "Shrinkage applied to each tree.",
	"training.gbdt.num_leaves":                "Maximum leaves per tree (leaf-wise growth).",
	"training.gbdt.max_depth":                 "Maximum tree depth; 0 = no limit.",
	"training.gbdt.min_data_in_leaf":          "Minimum training rows in a leaf.",
	"training.gbdt.min_sum_hessian":           "Minimum sum of hessians in a leaf.",
	"training.gbdt.lambda_l2":                 "L2 regularisation of leaf values.",
	"training.gbdt.max_bin":                   "Histogram bins per numeric feature (one more holds missing values).",
	"training.gbdt.early_stopping_rounds":     "Stop when validation RMSE has not improved for this many rounds; 0 = off.",
	"training.gbdt.threads":                   "Worker threads; 0 = every core. The model is identical whatever the count.",
	"training.gbdt.max_cat_threshold":         "Maximum categories on one side of a categorical split.",
	"training.gbdt.cat_smooth":                "Smoothing of per-category gradient ratios when sorting categories.",
	"training.gbdt.cat_l2":                    "L2 regularisation in categorical splits.",
	"training.gbdt.min_data_per_group":        "Minimum rows per category group in a categorical split.",
	"training.gbdt.max_cat_to_onehot":         "Features with at most this many categories use one-vs-rest splits.",
	"training.random_forest":                  "Random forest on the same tree machinery (the original's model type: 300 trees, depth 12, 2 per leaf).",
	"training.random_forest.trees":            "Number of trees.",
	"training.random_forest.num_leaves":       "Maximum leaves per tree.",
	"training.random_forest.max_depth":        "Maximum depth; 0 = no limit.",
	"training.random_forest.min_data_in_leaf": "Minimum training rows in a leaf.",
	"training.random_forest.bagging_fraction": "Share of rows sampled (without replacement) for each tree.",
	"training.random_forest.feature_fraction": "Share of features considered for each tree.",
	"training.random_forest.max_bin":          "Histogram bins per numeric feature.",
	"training.random_forest.threads":          "Worker threads; 0 = every core.",

	"preprocessing":                      "Cleaning, with the original's semantics.",
	"preprocessing.filters":              "Rows kept: min_price < price < max_price, model_year >= min_year, 0 < odometer < max_odometer; rows missing model_year or odometer are dropped.",
	"preprocessing.filters.min_price":    "Exclusive lower bound on price (USD).",
	"preprocessing.filters.max_price":    "Exclusive upper bound on price (USD); must exceed min_price.",
	"preprocessing.filters.min_year":     "Inclusive lower bound on model_year.",
	"preprocessing.filters.max_odometer": "Exclusive upper bound on odometer (miles).",
	"preprocessing.drop_columns":         "Columns never fed to the model (leakage guard for target-derived columns). The served model's schema is checked against it.",
	"preprocessing.numeric_features":     "Informational, from the original (the model file holds the real schema).",
	"preprocessing.categorical_features": "Informational, from the original (the model file holds the real schema).",

	"evaluation":                        "Test-set evaluation.",
	"evaluation.metrics":                "Metrics reported first (all are always computed); a subset of:",
	"evaluation.bootstrap":              "Seeded bootstrap CI of RMSE(model) - RMSE(baseline).",
	"evaluation.bootstrap.enabled":      "Compute the bootstrap CI.",
	"evaluation.bootstrap.n_resamples":  "Resamples.",
	"evaluation.bootstrap.random_state": "Seed of the resampling.",
	"evaluation.bootstrap.confidence":   "Confidence level of the interval.",
	"evaluation.temporal":               "Out-of-time backtest: train on earlier listings, score the newest.",
	"evaluation.temporal.enabled":       "Run the backtest.",
	"evaluation.temporal.test_size":     "Share of rows, newest by date_posted, held out.",
	"evaluation.segments":               "Per-segment RMSE.",
	"evaluation.segments.min_n":         "Segments with fewer test rows are not reported.",
	"evaluation.segments.columns":       "Columns to segment by.",
	"evaluation.interval":               "Prediction intervals from validation residuals.",
	"evaluation.interval.coverage":      "Nominal coverage of the interval.",

	"gate":                "Promotion gate: a challenger becomes champion only if it passes (on the same test rows).",
	"gate.min_r2":         "Minimum test R^2 (the original's 0.70).",
	"gate.max_rmse":       "Maximum test RMSE in USD (the original's 6000).",
	"gate.max_regression": "Largest relative increase of RMSE or MAPE tolerated against the champion (0.02 = 2%).",

	"serve":                               "HTTP API (carvision serve).",
	"serve.addr":                          "Listen address host:port (loopback by default; port 0 = any free port).",
	"serve.body_limit":                    "Largest request body; bigger gets 413.",
	"serve.batch_max":                     "Most listings in one /predict_batch.",
	"serve.strict_fields":                 "Unknown JSON fields get 422 naming them (false: ignored with a warning).",
	"serve.read_header_timeout":           "Time to read request headers; at most read_timeout.",
	"serve.read_timeout":                  "Time to read a whole request.",
	"serve.write_timeout":                 "Time to write a response.",
	"serve.idle_timeout":                  "Keep-alive idle time.",
	"serve.drain_timeout":                 "On SIGTERM, time given to in-flight requests before exit.",
	"serve.max_concurrent":                "Requests served at once; beyond it 429.",
	"serve.prediction_log":                "Served predictions: a ring for live monitoring, a sample batched into the store.",
	"serve.prediction_log.ring":           "Predictions kept in memory.",
	"serve.prediction_log.sample_rate":    "Share of predictions written to the store.",
	"serve.prediction_log.queue":          "Store queue length; when full, predictions are dropped and counted (never blocking a request).",
	"serve.prediction_log.batch":          "Rows per store transaction; at most queue.",
	"serve.prediction_log.flush_interval": "Longest wait before a partial batch is written.",
	"serve.prediction_log.retention":      "Stored predictions older than this are deleted (checked every minute).",
	"serve.prediction_log.max_rows":       "Most stored predictions; the oldest beyond it are deleted (checked every minute). About 300 bytes each.",
	"serve.reload_debounce":               "Quiet time after a change to the model alias/file or to config.yaml before reloading.",

	"logging":              "log/slog output and rotation (lumberjack).",
	"logging.level":        "Minimum level.",
	"logging.format":       "Line format.",
	"logging.max_size_mb":  "Rotate when the active log reaches this size.",
	"logging.max_backups":  "Rotated files kept; 0 = all (subject to max_age_days).",
	"logging.max_age_days": "Days rotated files are kept; 0 = no age limit.",
	"logging.daily_rotate": "Also rotate every day at midnight (the runbook's daily rotation).",
	"logging.compress":     "Gzip rotated files.",

	"monitor":                    "Live latency, throughput and error statistics.",
	"monitor.windows":            "Sliding windows; alert expressions may name one, e.g. latency_p95[5m].",
	"monitor.history":            "Points kept for the console's graphs.",
	"monitor.history.per_second": "How long 1-second points are kept.",
	"monitor.history.per_minute": "How long 1-minute points are kept; at least per_second.",

	"drift":                       "Live drift of served requests against the model's training reference.",
	"drift.min_window":            "Below this many requests the verdict is \"collecting\", never an alarm.",
	"drift.window":                "Most recent requests compared; at least min_window.",
	"drift.features":              "Features monitored; [] = every model feature plus the predicted price.",
	"drift.psi_threshold":         "PSI at or above which a feature counts as drifted (0.1 = moderate).",
	"drift.psi_retrain":           "Retrain when the largest PSI reaches this (0.25 = major); at least psi_threshold.",
	"drift.psi_retrain_features":  "...or when this many features reach psi_threshold.",
	"drift.ks_p":                  "...or when a KS p-value falls below this.",
	"drift.js_threshold":          "Jensen-Shannon distance at or above which a categorical feature drifted.",
	"drift.wasserstein_threshold": "Wasserstein distance / reference std at or above which a numeric feature drifted.",
	"drift.dataset_drift_share":   "Share of drifted features at or above which the dataset drifted.",

	"alerts":                 "Alert rules over monitored values, with Prometheus 'for' semantics (inactive -> pending -> firing -> resolved).",
	"alerts.eval_interval":   "How often rules are evaluated.",
	"alerts.webhook":         "Optional JSON POST for each firing and resolved alert.",
	"alerts.webhook.url":     "http(s) URL; \"\" = off.",
	"alerts.webhook.timeout": "Timeout of one attempt.",
	"alerts.webhook.retries": "Retries after a failed attempt (with backoff).",
	"alerts.rules": "Each rule: name (unique), expr (a known metric, optionally with a monitor window: " +
		"latency_p50|p95|p99|max, request_rate, error_rate_5xx|4xx [window]; in_flight, health_ok, disk_usage, " +
		"drift_detected, retrain_recommended, drift_share, drift_max_psi, out_of_range_share, model_reload_failed, " +
		"config_reload_failed), op (\">\" \"<\" \">=\" \"<=\" \"==\" \"!=\", quoted), threshold (number), " +
		"for (duration it must hold before firing, default 0s), severity (info|warning|critical, default warning), " +
		"runbook (id of the runbook it opens), description. Latencies are in seconds, rates are shares 0..1. " +
		"A rules list in this file replaces the shipped list as a whole.",

	"ssh":                      "Console over SSH (carvision serve --ssh). Keys only; unknown keys are refused.",
	"ssh.addr":                 "Listen address, e.g. 127.0.0.1:2222; \"\" = off.",
	"ssh.host_key_path":        "ed25519 host key, generated with mode 0600 on first start.",
	"ssh.authorized_keys_path": "authorized_keys-format file; changes apply without a restart.",
	"ssh.idle_timeout":         "A session without input for this long is closed.",
	"ssh.max_session":          "Longest session.",
	"ssh.max_sessions":         "Concurrent sessions; more are refused with a message.",
	"ssh.roles":                "Key fingerprint (SHA256:...) or key comment -> viewer|operator. Keys without a role are viewers.",

	"runbooks":                    "Executable runbooks.",
	"runbooks.warn_removed_share": "data.filters warns when one filter removes more than this share of rows.",
	"runbooks.sh_output_cap":      "Output kept from one sh step.",
	"runbooks.sh_timeout":         "Timeout of an sh step that sets none.",

	"console":               "Terminal console.",
	"console.theme":         "Colours.",
	"console.mouse":         "Mouse support (off keeps the terminal's text selection).",
	"console.demo":          "Synthetic demo traffic.",
	"console.demo.rate":     "Requests per second.",
	"console.demo.episodes": "Inject scripted episodes (latency spike, drift burst, errors) into the demo traffic.",
}

var (
	defaultOnce sync.Once
	defaultCfg  *Config
)

func sharedDefault() *Config {
	defaultOnce.Do(func() { defaultCfg = Default() })
	return defaultCfg
}

// docComment builds a key's comment: its doc, allowed values and default.
func docComment(key string, v reflect.Value, tag reflect.StructTag) string {
	text := docs[key]
	t := v.Type()
	leaf := t == durationType || t == byteSizeType ||
		(t.Kind() != reflect.Struct && t.Kind() != reflect.Map && !(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct))
	if leaf {
		var extra []string
		if one, ok := tag.Lookup("oneof"); ok {
			lead := "One of: "
			if t.Kind() == reflect.Slice {
				lead = ""
			}
			extra = append(extra, lead+strings.Trim(strings.ReplaceAll(one, "|", ", "), ", ")+".")
		}
		if r := tag.Get("range"); r != "" {
			if spec, err := parseRange(r, elemType(t)); err == nil {
				extra = append(extra, "Range "+spec.String()+".")
			}
		}
		if dv, _, ok := lookup(sharedDefault(), key); ok {
			extra = append(extra, "Default "+docValue(dv)+".")
		}
		if len(extra) > 0 {
			text = strings.TrimSpace(text + " " + strings.Join(extra, " "))
		}
	}
	return wrap(text, 76-2*strings.Count(key, "."))
}

// docValue writes a default as it appears in YAML: strings bare unless empty.
func docValue(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.String && v.String() == "":
		return `""`
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = docValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return formatValue(v)
}

func elemType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Slice {
		return t.Elem()
	}
	return t
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
