package local

import (
	"context"
	"time"
)

// prunePredictions bounds the store's sampled prediction log by age and row
// count (serve.prediction_log.retention, max_rows) once at start and then
// every minute: without it a busy server would grow the file without end.
func (s *serving) prunePredictions(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		s.pruneOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneOnce applies the retention rules now; a failure is logged and the
// next minute tries again.
func (s *serving) pruneOnce(ctx context.Context) int64 {
	pl := s.e.config().Serve.PredictionLog
	n, err := s.e.st.PrunePredictions(ctx, s.e.now().Add(-pl.Retention), pl.MaxRows)
	switch {
	case err != nil && ctx.Err() == nil:
		s.e.log.Warn("prune stored predictions", "err", err)
	case n > 0:
		s.e.log.Info("pruned stored predictions", "rows", n, "retention", pl.Retention.String(), "max_rows", pl.MaxRows)
	}
	return n
}
