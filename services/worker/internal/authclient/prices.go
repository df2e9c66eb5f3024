package authclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Prices implements pricing.Source over PricingService.
type Prices struct {
	pricing authv1.PricingServiceClient
	timeout time.Duration
}

// NewPrices calls auth over conn (see Dial); each call waits at most
// timeout.
func NewPrices(conn grpc.ClientConnInterface, timeout time.Duration) *Prices {
	return &Prices{pricing: authv1.NewPricingServiceClient(conn), timeout: timeout}
}

// ModelPrices lists every global price and every project's overrides.
func (p *Prices) ModelPrices(ctx context.Context) ([]*authv1.ModelPrice, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.pricing.ListModelPrices(ctx, &authv1.ListModelPricesRequest{AllProjects: true})
	if err != nil {
		return nil, fmt.Errorf("PricingService.ListModelPrices: %w", err)
	}
	return resp.GetPrices(), nil
}
