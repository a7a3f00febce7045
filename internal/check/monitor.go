package check

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/golive-dev/golive/internal/plan"
)

// QueryPrometheus runs an instant query and returns its one number: a
// scalar, or a vector with exactly one sample.
func QueryPrometheus(ctx context.Context, url, query string) (float64, error) {
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return 0, fmt.Errorf("prometheus %s: %w", url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, NetworkTimeout)
	defer cancel()
	v, _, _, err := promv1.NewAPI(client).Query(ctx, query, time.Now())
	if err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	switch v := v.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		switch len(v) {
		case 1:
			return float64(v[0].Value), nil
		case 0:
			return 0, fmt.Errorf("prometheus query returned no data")
		}
		return 0, fmt.Errorf("prometheus query returned %d series; want one number (aggregate it, e.g. sum(...))", len(v))
	}
	return 0, fmt.Errorf("prometheus query returned a %s; want one number", v.Type())
}

// Monitor evaluates a monitor once: the query's result, whether the
// condition holds, and a line a person reads.
func Monitor(ctx context.Context, url, query, condition string) (ok bool, detail string) {
	result, err := QueryPrometheus(ctx, url, query)
	if err != nil {
		return false, err.Error()
	}
	holds, err := plan.EvalBool(condition, &plan.Scope{Result: result})
	if err != nil {
		return false, fmt.Sprintf("result %g: %v", result, err)
	}
	if !holds {
		return false, fmt.Sprintf("result %g: %s is false", result, plan.UnwrapCondition(condition))
	}
	return true, fmt.Sprintf("result %g: %s", result, plan.UnwrapCondition(condition))
}
