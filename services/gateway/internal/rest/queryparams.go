package rest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// queryParser reads query strings into requests: the default mapping of
// parameters to fields, except for GET /api/v1/metrics, whose one parameter
// `query` is the whole metrics query as JSON (Langfuse's metrics API takes
// it that way; its filters, dimensions and metrics are lists of objects
// that parameters cannot spell).
type queryParser struct {
	runtime.DefaultQueryParser
}

// metricsQueryParam is GET /api/v1/metrics's parameter.
const metricsQueryParam = "query"

func (p queryParser) Parse(target proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	req, ok := target.(*queryv1.QueryMetricsRequest)
	if !ok {
		return p.DefaultQueryParser.Parse(target, values, filter)
	}
	for name := range values {
		if name != metricsQueryParam {
			return fmt.Errorf("unknown query parameter %q: the metrics query is one parameter, %s=<JSON>", name, metricsQueryParam)
		}
	}
	raw := values[metricsQueryParam]
	switch {
	case len(raw) == 0:
		return nil // the service answers that the query is required
	case len(raw) > 1:
		return fmt.Errorf("%s is given %d times; give it once", metricsQueryParam, len(raw))
	case strings.TrimSpace(raw[0]) == "":
		return nil
	}
	q := &queryv1.MetricsQuery{}
	if err := protojson.Unmarshal([]byte(raw[0]), q); err != nil {
		return fmt.Errorf("%s is not a metrics query in JSON: %w", metricsQueryParam, err)
	}
	req.Query = q
	return nil
}

var _ runtime.QueryParameterParser = queryParser{}
