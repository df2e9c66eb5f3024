package service

import (
	"context"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
)

func TestWorthLogging(t *testing.T) {
	tests := []struct {
		method string
		want   bool
	}{
		{"/grpc.health.v1.Health/Check", false},
		{"/grpc.health.v1.Health/Watch", false},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", false},
		{"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", false},
		{"/agenttrace.query.v1.QueryService/GetTrace", true},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			if got := worthLogging(context.Background(), interceptors.NewServerCallMeta(tt.method, nil, nil)); got != tt.want {
				t.Errorf("worthLogging(%s) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}
