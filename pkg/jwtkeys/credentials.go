package jwtkeys

import (
	"context"
	"sync"
	"time"
)

// ServiceCredentials is a grpc.PerRPCCredentials that sends a service token,
// minted again shortly before the previous one expires.
type ServiceCredentials struct {
	ring *Ring
	name string
	now  func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewServiceCredentials authenticates a service's outgoing calls as name.
func NewServiceCredentials(ring *Ring, name string) *ServiceCredentials {
	return &ServiceCredentials{ring: ring, name: name, now: time.Now}
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *ServiceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token == "" || now.After(c.expires.Add(-ServiceTTL/5)) {
		t, err := c.ring.MintServiceToken(c.name, now)
		if err != nil {
			return nil, err
		}
		c.token, c.expires = t, now.Add(ServiceTTL)
	}
	return map[string]string{"authorization": "Bearer " + c.token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. Calls
// between services run inside the cluster network (NetworkPolicies restrict
// who can reach them).
func (c *ServiceCredentials) RequireTransportSecurity() bool { return false }
