package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// PredictionRow is one served prediction, sampled from the serve path.
// Price is NaN when no price was produced (an error status); it is
// stored as NULL.
type PredictionRow struct {
	ID           int64           `json:"id"`
	At           time.Time       `json:"at"`
	ModelVersion string          `json:"model_version"`
	Status       int             `json:"status"` // HTTP status
	Latency      time.Duration   `json:"latency"`
	FeaturesJSON json.RawMessage `json:"features"` // the request's listing as JSON
	Price        float64         `json:"price"`
}

// InsertPredictions writes a batch in one transaction. The batch is
// checked first: a bad row is named by its index and nothing is written.
func (s *Store) InsertPredictions(ctx context.Context, rows []PredictionRow) error {
	if len(rows) == 0 {
		return nil
	}
	for i, r := range rows {
		switch {
		case r.Latency < 0:
			return fmt.Errorf("insert predictions: row %d: negative latency %s", i, r.Latency)
		case len(r.FeaturesJSON) > 0 && !json.Valid(r.FeaturesJSON):
			return fmt.Errorf("insert predictions: row %d: features is not valid JSON", i)
		}
	}
	now := s.now()
	return s.write(ctx, fmt.Sprintf("insert %d predictions", len(rows)), func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO predictions (at, model_version, status, latency_us, features_json, price)
VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, r := range rows {
			at := r.At
			if at.IsZero() {
				at = now
			}
			feats := string(r.FeaturesJSON)
			if feats == "" {
				feats = "{}"
			}
			var price sql.NullFloat64
			if !math.IsNaN(r.Price) && !math.IsInf(r.Price, 0) {
				price = sql.NullFloat64{Float64: r.Price, Valid: true}
			}
			if _, err := st.ExecContext(ctx, fmtTime(at), r.ModelVersion, r.Status, r.Latency.Microseconds(), feats, price); err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
		}
		return nil
	})
}

// Predictions returns stored predictions at or after since, newest first
// (limit <= 0 means 100).
func (s *Store) Predictions(ctx context.Context, since time.Time, limit int) ([]PredictionRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, model_version, status, latency_us, features_json, price FROM predictions
WHERE at >= ? ORDER BY id DESC LIMIT ?`, sinceArg(since), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	defer rows.Close()
	var out []PredictionRow
	for rows.Next() {
		var p PredictionRow
		var at string
		var us int64
		var price sql.NullFloat64
		var feats string
		if err := rows.Scan(&p.ID, &at, &p.ModelVersion, &p.Status, &us, &feats, &price); err != nil {
			return nil, fmt.Errorf("predictions: %w", err)
		}
		if p.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("predictions: row %d: %w", p.ID, err)
		}
		p.FeaturesJSON = json.RawMessage(feats)
		p.Latency = time.Duration(us) * time.Microsecond
		p.Price = math.NaN()
		if price.Valid {
			p.Price = price.Float64
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	return out, nil
}

// PrunePredictions deletes predictions older than before and, when maxRows
// > 0, the oldest beyond the newest maxRows; it returns how many went. The
// serving engine calls it every minute, so the sampled log bounds the file.
func (s *Store) PrunePredictions(ctx context.Context, before time.Time, maxRows int) (int64, error) {
	var n int64
	err := s.write(ctx, "prune predictions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM predictions WHERE at < ?`, fmtTime(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || maxRows <= 0 {
			return err
		}
		// ids only grow (AUTOINCREMENT), so the newest maxRows are the
		// highest ids; the cut is found through the primary key.
		res, err = tx.ExecContext(ctx, `DELETE FROM predictions WHERE id <=
	(SELECT id FROM predictions ORDER BY id DESC LIMIT 1 OFFSET ?)`, maxRows)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n += m
		return err
	})
	return n, err
}
